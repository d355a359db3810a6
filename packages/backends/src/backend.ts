/**
 * One function every entry point calls to pick the compute backend.
 * Order: tfjs-node-gpu (CUDA) → webgpu (Dawn over Vulkan, hardware adapters only) → tfjs-node
 * → native (@distillery/native: OpenBLAS addon, all cores) → wasm (SIMD) → cpu. The tfjs-node
 * packages are optional peers: never installed by `pnpm install`, only detected here; native is
 * offered only when its addon built at install. A software WebGPU adapter (SwiftShader) is slower
 * than every CPU backend, so it runs only when asked for by name.
 */
import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { DistilleryBackendsError } from './errors.js';
import { installWasmKernelFixes } from './wasm-kernels.js';
import { installWebGpuKernelFixes } from './webgpu-kernels.js';
import { describeAdapter, installNodeWebGpu, probeWebGpuAdapter, type GpuAdapterSummary } from './webgpu.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu';

export interface BackendInfo {
  backend: BackendName;
  /** Where the backend came from, e.g. "@tensorflow/tfjs-node-gpu" or "@tensorflow/tfjs-backend-wasm". */
  provider: string;
  threads: number;
  /** The GPU adapter, for webgpu. */
  adapter?: GpuAdapterSummary;
  /** Why this backend was chosen (and why faster ones were not). */
  reason: string;
}

export interface InitBackendOptions {
  /** Force a backend; overrides `DISTILLERY_BACKEND`. */
  backend?: BackendName;
  /** Print the one-line summary (default true). */
  log?: boolean | ((line: string) => void);
}

/** Every backend `initBackend` can start, in its automatic order (flags offer these as choices). */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'];
let current: BackendInfo | undefined;

const TFJS_NODE_GPU = '@tensorflow/tfjs-node-gpu';
const TFJS_NODE = '@tensorflow/tfjs-node';

async function tryTensorflow(packages: readonly string[]): Promise<{ ok: true; provider: string } | { ok: false; why: string }> {
  const misses: string[] = [];
  for (const pkg of packages) {
    try {
      await import(pkg);
      if (tf.findBackend('tensorflow')) return { ok: true, provider: pkg };
      misses.push(`${pkg} loaded but registered no backend`);
    } catch (e) {
      const msg = (e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : `failed to load: ${(e as Error).message.split('\n')[0]}`;
      misses.push(`${pkg.replace('@tensorflow/', '')} ${msg}`);
    }
  }
  return { ok: false, why: misses.join('; ') };
}

/** How to get an adapter, for the error a forced webgpu raises when Dawn finds none. */
const WEBGPU_HELP =
  'install the GPU\'s Vulkan driver and the Vulkan loader (Debian: libvulkan1; in containers NVIDIA_DRIVER_CAPABILITIES must include graphics), ' +
  'or, to run on the CPU through SwiftShader (slow; for tests), set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json and XDG_RUNTIME_DIR to a writable folder (Debian package chromium)';

/** `force`: the user named webgpu, so any adapter will do and the probe runs in this process. */
async function tryWebGpu(force: boolean): Promise<{ ok: true; adapter: GpuAdapterSummary } | { ok: false; why: string }> {
  if (!force) {
    const probe = probeWebGpuAdapter();
    if (!probe.ok) return { ok: false, why: `webgpu ${probe.why}` };
    if (probe.adapter === null) return { ok: false, why: 'webgpu found no GPU adapter' };
    if (probe.adapter.software) return { ok: false, why: `webgpu adapter ${describeAdapter(probe.adapter)} is not a GPU (DISTILLERY_BACKEND=webgpu uses it anyway)` };
  }
  try {
    const adapter = await installNodeWebGpu();
    if (adapter === null) return { ok: false, why: 'Dawn found no WebGPU adapter' };
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return { ok: false, why: 'webgpu backend failed to initialise' };
    installWebGpuKernelFixes();
    return { ok: true, adapter };
  } catch (e) {
    return { ok: false, why: `webgpu failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function tryNative(): Promise<{ ok: true; threads: number } | { ok: false; why: string }> {
  try {
    // Dynamic: a missing or broken addon must not break importing the trainer.
    const native = await import('@distillery/native');
    const r = native.registerNativeBackend();
    if (!r.ok) return { ok: false, why: `native ${r.why}` };
    if (!(await tf.setBackend(native.NATIVE_BACKEND))) return { ok: false, why: 'native backend failed to initialise' };
    return { ok: true, threads: r.threads };
  } catch (e) {
    return { ok: false, why: `@distillery/native failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

async function tryWasm(): Promise<{ ok: true; threads: number } | { ok: false; why: string }> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Node runs the wasm backend single-threaded (its threaded build needs browser workers); ask anyway.
    wasm.setThreadsCount(availableParallelism());
    if (!(await tf.setBackend('wasm'))) return { ok: false, why: 'wasm backend failed to initialise' };
    installWasmKernelFixes();
    return { ok: true, threads: wasm.getThreadsCount() };
  } catch (e) {
    return { ok: false, why: `tfjs-backend-wasm failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

function requested(options: InitBackendOptions): BackendName | undefined {
  const raw = options.backend ?? process.env.DISTILLERY_BACKEND;
  if (raw === undefined || raw === '' || raw === 'auto') return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(raw)) {
    const field = options.backend !== undefined ? `initBackend({ backend: '${raw}' })` : `DISTILLERY_BACKEND=${raw}`;
    throw new DistilleryBackendsError('BACKEND_UNKNOWN', `${field} is not a backend; use one of ${BACKEND_NAMES.join(', ')} (or leave it unset for automatic choice).`);
  }
  return raw as BackendName;
}

/**
 * Select and initialise the backend. Idempotent for the same choice.
 * Throws `BACKEND_UNAVAILABLE` when an explicitly requested backend cannot start.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const want = requested(options);
  if (current && (want === undefined || want === current.backend)) return current;
  const skipped: string[] = [];
  let info: BackendInfo | undefined;

  if (want === undefined) {
    const r = await tryTensorflow([TFJS_NODE_GPU]);
    if (r.ok && (await tf.setBackend('tensorflow'))) info = { backend: 'tensorflow', provider: r.provider, threads: availableParallelism(), reason: 'fastest available' };
    else if (!r.ok) skipped.push(r.why);
  }
  if (!info && (want === undefined || want === 'webgpu')) {
    const r = await tryWebGpu(want === 'webgpu');
    if (r.ok) {
      info = { backend: 'webgpu', provider: `@tensorflow/tfjs-backend-webgpu on ${describeAdapter(r.adapter)}`, threads: 1, adapter: r.adapter, reason: want ? 'requested' : 'GPU adapter found' };
    } else if (want === 'webgpu') throw new DistilleryBackendsError('BACKEND_UNAVAILABLE', `backend "webgpu" requested but unavailable (${r.why}); ${WEBGPU_HELP}.`);
    else skipped.push(r.why);
  }
  if (!info && (want === undefined || want === 'tensorflow')) {
    const r = await tryTensorflow(want ? [TFJS_NODE_GPU, TFJS_NODE] : [TFJS_NODE]);
    if (r.ok && (await tf.setBackend('tensorflow'))) {
      info = { backend: 'tensorflow', provider: r.provider, threads: availableParallelism(), reason: want ? 'requested' : skipped.join('; ') };
    } else if (want === 'tensorflow') {
      throw new DistilleryBackendsError('BACKEND_UNAVAILABLE', `backend "tensorflow" requested but unavailable (${r.ok ? 'setBackend failed' : r.why}). Install it with \`pnpm add @tensorflow/tfjs-node\` (CPU) or \`pnpm add @tensorflow/tfjs-node-gpu\` (CUDA 11.2 + cuDNN 8.1, as libtensorflow 2.9.1 expects), or pick DISTILLERY_BACKEND=wasm.`);
    } else if (!r.ok) skipped.push(r.why);
  }
  if (!info && (want === undefined || want === 'native')) {
    const r = await tryNative();
    if (r.ok) info = { backend: 'native', provider: '@distillery/native', threads: r.threads, reason: want ? 'requested' : skipped.join('; ') };
    else if (want === 'native') throw new DistilleryBackendsError('BACKEND_UNAVAILABLE', `backend "native" requested but unavailable (${r.why}); build it with \`apt-get install -y libopenblas-dev && pnpm --filter @distillery/native run install\`, or pick DISTILLERY_BACKEND=wasm.`);
    else skipped.push(r.why);
  }
  if (!info && (want === undefined || want === 'wasm')) {
    const r = await tryWasm();
    if (r.ok) {
      // Say why the thread count is below the core count, since that is what users notice.
      const threadsWhy = r.threads < availableParallelism() ? `; ${r.threads} of ${availableParallelism()} cores: tfjs-wasm runs single-threaded in Node (its threaded build needs browser workers)` : '';
      info = { backend: 'wasm', provider: '@tensorflow/tfjs-backend-wasm', threads: r.threads, reason: (want ? 'requested' : skipped.join('; ')) + threadsWhy };
    } else if (want === 'wasm') throw new DistilleryBackendsError('BACKEND_UNAVAILABLE', `backend "wasm" requested but unavailable (${r.why}); try DISTILLERY_BACKEND=cpu.`);
    else skipped.push(r.why);
  }
  if (!info) {
    await tf.setBackend('cpu');
    info = { backend: 'cpu', provider: '@tensorflow/tfjs-backend-cpu', threads: 1, reason: want ? 'requested' : skipped.join('; ') };
  }
  await tf.ready();
  // The cpu backend (and native, derived from it) prints a "install tfjs-node" banner on first use;
  // the line below already says which backend runs and why, so silence tfjs's warnings.
  tf.env().set('PROD', true);
  current = info;
  const log = options.log ?? true;
  if (log) {
    const line = `[distillery] backend=${info.backend} (${info.provider}) threads=${info.threads} — ${info.reason}`;
    (typeof log === 'function' ? log : console.error)(line);
  }
  return info;
}

/** The backend chosen by the last `initBackend`, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
