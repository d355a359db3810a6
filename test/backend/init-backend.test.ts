// initBackend: automatic order, DISTILLERY_BACKEND and the option, errors, the one-line report.
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadAddon } from '@distillery/native';
import { DistilleryBackendsError, initBackend } from '@distillery/backends';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

async function failure(p: Promise<unknown>): Promise<DistilleryBackendsError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(DistilleryBackendsError);
  return e as DistilleryBackendsError;
}

describe('initBackend', () => {
  // First in the file: the automatic choice is made once per process.
  it('picks the fastest available backend and prints one line naming it, its threads and why', async () => {
    vi.stubEnv('DISTILLERY_BACKEND', '');
    const lines: string[] = [];
    const info = await initBackend({ log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`backend=${info.backend}`);
    expect(lines[0]).toContain(`threads=${info.threads}`);
    expect(tf.getBackend()).toBe(info.backend);
    if (info.backend !== 'tensorflow') {
      // Here (no tfjs-node): the line says why the native backends were passed over.
      expect(lines[0]).toMatch(/tfjs-node-gpu (not installed|failed to load)/);
      expect(info.backend).toBe(loadAddon().ok ? 'native' : 'wasm');
    }
  });

  it('honours DISTILLERY_BACKEND', async () => {
    vi.stubEnv('DISTILLERY_BACKEND', 'cpu');
    const lines: string[] = [];
    const info = await initBackend({ log: (line) => lines.push(line) });
    expect(info.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual([expect.stringMatching(/backend=cpu .*threads=1 .*requested/)]);
  });

  it('the option overrides DISTILLERY_BACKEND, and prints to stderr by default', async () => {
    vi.stubEnv('DISTILLERY_BACKEND', 'cpu');
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    const info = await initBackend({ backend: 'wasm' });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(stderr).toHaveBeenCalledTimes(1);
    expect(stderr.mock.calls[0]![0]).toMatch(/backend=wasm .*threads=\d+ .*requested/);
  });

  it('throws BACKEND_UNAVAILABLE for tensorflow when tfjs-node is not installed', async (ctx) => {
    const native = await import('@tensorflow/tfjs-node' as string).then(() => true, () => false);
    if (native) ctx.skip();
    const e = await failure(initBackend({ backend: 'tensorflow', log: false }));
    expect(e.code).toBe('BACKEND_UNAVAILABLE');
    expect(e.message).toMatch(/pnpm add @tensorflow\/tfjs-node/);
    vi.stubEnv('DISTILLERY_BACKEND', 'tensorflow');
    expect((await failure(initBackend({ log: false }))).code).toBe('BACKEND_UNAVAILABLE');
  });

  it('throws BACKEND_UNKNOWN for a name that is no backend, from the env or the option', async () => {
    vi.stubEnv('DISTILLERY_BACKEND', 'gpu-please');
    const fromEnv = await failure(initBackend({ log: false }));
    expect(fromEnv.code).toBe('BACKEND_UNKNOWN');
    expect(fromEnv.message).toContain('gpu-please');
    vi.unstubAllEnvs();
    const fromOption = await failure(initBackend({ backend: 'metal' as never, log: false }));
    expect(fromOption.code).toBe('BACKEND_UNKNOWN');
    expect(fromOption.message).toContain("backend: 'metal'");
  });

  // Last: it leaves navigator.gpu installed. Without VK_ICD_FILENAMES Dawn sees only hardware adapters.
  it('webgpu by name runs on a hardware adapter, or throws BACKEND_UNAVAILABLE saying how to get one', async () => {
    vi.stubEnv('VK_ICD_FILENAMES', '');
    const r = await initBackend({ backend: 'webgpu', log: false }).then((info) => info, (e: unknown) => e);
    if (r instanceof DistilleryBackendsError) {
      expect(r.code).toBe('BACKEND_UNAVAILABLE');
      expect(r.message).toMatch(/backend "webgpu" requested but unavailable .*Vulkan driver.*NVIDIA_DRIVER_CAPABILITIES.*VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
    } else expect(r).toMatchObject({ backend: 'webgpu', adapter: { software: false } });
  });
});
