/** Transpose of float32 / int32 tensors as one threaded strided copy (row memcpy when the last dim stays). */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { outputF32, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

const MAX_RANK = 8; // src/transpose.c

/**
 * Output shape and, per output dim, the input element stride that walks it; size-1 dims
 * dropped and dims that stay adjacent in the input merged.
 */
export function transposePlan(shape: readonly number[], perm: readonly number[]): { shape: Float64Array; strides: Float64Array } {
  const inStrides = tf.util.computeStrides([...shape]);
  const dims: Array<[number, number]> = []; // [size, input stride], outermost output dim first
  for (const p of perm) {
    const size = shape[p]!;
    if (size === 1) continue;
    const stride = p === shape.length - 1 ? 1 : inStrides[p]!;
    const prev = dims.at(-1);
    if (prev && prev[1] === stride * size) prev.splice(0, 2, prev[0] * size, stride);
    else dims.push([size, stride]);
  }
  if (dims.length === 0) dims.push([1, 1]);
  return { shape: Float64Array.from(dims, (d) => d[0]), strides: Float64Array.from(dims, (d) => d[1]) };
}

function transpose(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo | undefined {
  const x = inputs.x!;
  const { perm } = attrs as unknown as tf.TransposeAttrs;
  const values = backend.data.get(x.dataId).values;
  // Only the dtype's own array type (a cast may leave a float32 tensor holding ints: cpu handles that).
  if (!((x.dtype === 'float32' && values instanceof Float32Array) || (x.dtype === 'int32' && values instanceof Int32Array))) return undefined;
  const plan = transposePlan(x.shape, perm);
  if (plan.shape.length > MAX_RANK) return undefined;
  const out = values instanceof Float32Array ? outputF32(backend, values.length) : new Int32Array(values.length);
  // The C side moves 4-byte words; hand it float views of either dtype.
  const view = (t: Float32Array | Int32Array) => (t instanceof Float32Array ? t : new Float32Array(t.buffer, t.byteOffset, t.length));
  if (values.length > 0) addon.transpose(view(values), view(out), plan.shape, plan.strides);
  return backend.makeTensorInfo(perm.map((p) => x.shape[p]!), x.dtype, out);
}

export const transposeKernels: NativeKernel[] = [{ kernelName: tf.Transpose, run: transpose }];
