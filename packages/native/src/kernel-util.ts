/** Shared plumbing for native kernels: typed input access and the cpu fallback. */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';

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

/** The Float32Array behind a float32 tensor; undefined for other dtypes (those stay on the cpu kernel). */
export function f32(backend: MathBackendCPU, t: tf.TensorInfo | undefined): Float32Array | undefined {
  if (t === undefined || t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId).values;
  return values instanceof Float32Array ? values : undefined;
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
