/**
 * OpenBLAS's workers must not spin between products (packages/native/src/addon.ts sets its spin
 * limit when the library loads): a spinning worker takes a core from the kernels in between.
 */
import { loadAddon } from '@distillery/native';
import { describe, expect, it } from 'vitest';

const load = loadAddon();

describe.skipIf(!load.ok)('OpenBLAS worker spin', () => {
  it('after a threaded product the process stays idle while it waits', async () => {
    if (!load.ok) return;
    const n = 1024;
    const a = new Float32Array(n * n).fill(1);
    const out = new Float32Array(n * n);
    load.addon.gemm(a, new Float64Array([0]), a, new Float64Array([0]), out, n, n, n, false, false, null);
    expect(out[0]).toBe(n);
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const used = process.cpuUsage(before);
    // With OpenBLAS's default limit a worker spins ~0.1 s after each product: ~85 ms of CPU here.
    expect((used.user + used.system) / 1000).toBeLessThan(30);
  });

  it('leaves the environment as it found it (child processes keep OpenBLAS defaults)', () => {
    expect(process.env.OPENBLAS_THREAD_TIMEOUT).toBeUndefined();
  });
});
