/**
 * The 'native' tfjs backend: the cpu backend (same TypedArray storage, every kernel copied)
 * with its hot kernels replaced by the N-API addon. Inputs an override does not take (other
 * dtypes, unusual shapes) run the cpu kernel, so semantics never diverge.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { FUSED_ADAMW, fusedAdamWKernel } from './adamw.js';
import { ATTENTION_MATMUL, attentionMatMulKernel } from './attention.js';
import { loadAddon, type NativeAddon } from './addon.js';
import { BufferPool } from './pool.js';
import type { NativeKernel, NativeKernelArgs } from './kernel-util.js';
import { elementwiseKernels } from './elementwise.js';
import { fusedKernels } from './fused.js';
import { gatherKernels } from './gather.js';
import { matMulKernels } from './matmul.js';
import { reduceKernels } from './reduce.js';
import { softmaxKernels } from './softmax.js';
import { transposeKernels } from './transpose.js';

export const NATIVE_BACKEND = 'native';

/** Kernels the addon runs (all others are the cpu backend's). */
export const nativeKernels: readonly NativeKernel[] = [...matMulKernels, ...elementwiseKernels, ...reduceKernels, ...softmaxKernels, ...transposeKernels, ...gatherKernels];

/**
 * Free kernel outputs kept for reuse (pool.ts). At seq 512 one attention map is 201 MiB: with 1 GiB
 * the pool held five and V8 still ran ~25 % more full collections (190 vs 141 a run); the peak RSS
 * stayed ~6.3-6.6 GiB either way, since what the pool keeps the GC no longer holds.
 */
const POOL_LIMIT_BYTES = 3 * 2 ** 30;

class NativeBackend extends MathBackendCPU {
  readonly pool = new BufferPool(POOL_LIMIT_BYTES);

  constructor(addon: NativeAddon) {
    super();
    addon.keepBuffers();
    // The cpu backend's first write advises installing tfjs-node; this backend is the answer to that.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  // Every way values enter, leave or are dropped from the data map tells the pool.
  override write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId {
    this.pool.registered(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: tf.DataId, values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType, refCount: number): void {
    this.pool.registered(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    if (this.data.has(dataId)) this.pool.escaped(this.data.get(dataId).values);
    return super.readSync(dataId);
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const released = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.released(values);
    return released;
  }

  override dispose(): void {
    this.pool.clear();
    super.dispose();
  }
}

export type NativeRegistration = { ok: true; threads: number; kernels: string[] } | { ok: false; why: string };

function override(addon: NativeAddon, kernel: NativeKernel): void {
  const cpu = tf.getKernel(kernel.kernelName, 'cpu');
  if (!cpu) throw new Error(`the cpu backend has no ${kernel.kernelName} kernel to fall back on`);
  tf.unregisterKernel(kernel.kernelName, NATIVE_BACKEND);
  tf.registerKernel({
    kernelName: kernel.kernelName,
    backendName: NATIVE_BACKEND,
    kernelFunc: (args) => kernel.run(addon, args as NativeKernelArgs) ?? cpu.kernelFunc(args),
  });
}

let registration: NativeRegistration | undefined;

/**
 * Register the 'native' backend (priority 0: never picked implicitly; select it with
 * `tf.setBackend('native')`). Returns why not when the addon is missing or fails to load.
 */
export function registerNativeBackend(): NativeRegistration {
  if (registration) return registration;
  const load = loadAddon();
  if (!load.ok) return (registration = { ok: false, why: load.why });
  const { addon } = load;
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(addon), 0);
  for (const config of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...config, backendName: NATIVE_BACKEND });
  for (const kernel of nativeKernels) override(addon, kernel);
  // Kernels only this backend has (no cpu twin): callers check tf.getKernel before using them.
  tf.registerKernel({ kernelName: FUSED_ADAMW, backendName: NATIVE_BACKEND, kernelFunc: (args) => fusedAdamWKernel(addon, args as NativeKernelArgs) });
  tf.registerKernel({ kernelName: ATTENTION_MATMUL, backendName: NATIVE_BACKEND, kernelFunc: (args) => attentionMatMulKernel(addon, args as NativeKernelArgs) });
  for (const { kernelName, run } of fusedKernels) tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc: (args) => run(addon, args as NativeKernelArgs) });
  return (registration = { ok: true, threads: addon.threads(), kernels: nativeKernels.map((k) => k.kernelName) });
}
