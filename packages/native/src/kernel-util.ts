/** Shared plumbing for native kernels: typed input access and the cpu fallback. */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import type { BufferPool } from './pool.js';

export interface NativeKernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: MathBackendCPU;
  attrs?: tf.NamedAttrMap;
}

/** A kernel override: `run` returns undefined when it does not take these inputs, and the cpu kernel runs instead. */
export interface NativeKernel {
  kernelName: string;
  run(addon: NativeAddon, args: NativeKernelArgs): tf.TensorInfo | tf.TensorInfo[] | undefined;
}

/**
 * The values of a float32 tensor as a Float32Array; undefined for other dtypes (those stay on
 * the cpu kernel). The cpu backend's Cast from bool/int32 to float32 shares the source's
 * Uint8Array/Int32Array under the new dtype, so those are converted (a copy, never written back).
 */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo | undefined): Float32Array | undefined {
  if (t === undefined || t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId).values;
  if (values instanceof Float32Array) return values;
  if (values instanceof Int32Array || values instanceof Uint8Array) return Float32Array.from(values);
  return undefined;
}

/** Same as f32 for int32 tensors (indices). */
export function i32(backend: MathBackendCPU, t: tf.TensorInfo | undefined): Int32Array | undefined {
  if (t === undefined || t.dtype !== 'int32') return undefined;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Int32Array ? values : undefined;
}

/** Run a kernel as registered for 'native' (override or cpu copy) from inside another kernel. */
export function runKernel(name: string, args: NativeKernelArgs): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'native');
  if (!kernel) throw new Error(`kernel ${name} is not registered for the native backend`);
  return kernel.kernelFunc(args) as tf.TensorInfo;
}

/**
 * A float32 output that is not zeroed, for a kernel that writes every element, from the native
 * backend's pool (pool.ts; these kernels are registered for that backend only). `new
 * Float32Array(n)` zero-fills (calloc's memset, on the JS thread before any kernel thread
 * starts): GiBs per training step of serial writes that the kernel then overwrote.
 */
export function outputF32(backend: MathBackendCPU, length: number): Float32Array {
  return (backend as MathBackendCPU & { pool: BufferPool }).pool.take(length);
}
