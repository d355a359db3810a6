/**
 * Embedding-sized row movement: GatherV2 (lookup), ScatterNd and UnsortedSegmentSum (its
 * gradient, as a scatter-add). The cpu backend's UnsortedSegmentSum builds one mask per segment,
 * O(segments × rows × width): hopeless for a 30k-row vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { f32, i32, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

/** A 4-byte tensor's values as a Float32Array view (C moves raw bits), or undefined. */
function words(args: NativeKernelArgs, t: tf.TensorInfo): Float32Array | undefined {
  const v = args.backend.data.get(t.dataId).values;
  if (t.dtype === 'float32' && v instanceof Float32Array) return v;
  if (t.dtype === 'int32' && v instanceof Int32Array) return new Float32Array(v.buffer, v.byteOffset, v.length);
  return undefined;
}

function gatherV2(addon: NativeAddon, args: NativeKernelArgs): tf.TensorInfo | undefined {
  const { x, indices } = args.inputs;
  const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
  const xv = words(args, x!);
  const iv = i32(args.backend, indices);
  if (!xv || !iv || (batchDims ?? 0) !== 0) return undefined;
  const a = tf.util.parseAxisParam(axis, x!.shape)[0]!;
  const outer = tf.util.sizeFromShape(x!.shape.slice(0, a));
  const inner = tf.util.sizeFromShape(x!.shape.slice(a + 1));
  const outShape = [...x!.shape.slice(0, a), ...indices!.shape, ...x!.shape.slice(a + 1)];
  const size = tf.util.sizeFromShape(outShape);
  const out = x!.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  const view = out instanceof Float32Array ? out : new Float32Array(out.buffer);
  // An index out of range: the cpu kernel raises tfjs's own error for it.
  if (addon.gather(xv, iv, view, outer, x!.shape[a]!, inner) !== -1) return undefined;
  return args.backend.makeTensorInfo(outShape, x!.dtype, out);
}

function scatterNd(addon: NativeAddon, args: NativeKernelArgs): tf.TensorInfo | undefined {
  const { indices, updates } = args.inputs;
  const { shape } = args.attrs as unknown as tf.ScatterNdAttrs;
  const iv = i32(args.backend, indices);
  const uv = f32(args.backend, updates);
  if (!iv || !uv || indices!.shape.length === 0) return undefined;
  const k = indices!.shape.at(-1)!;
  if (k === 0 || k > shape.length) return undefined;
  // Flatten each k-tuple into a slice (row) number of the output viewed as [rows, sliceSize].
  const rows = tf.util.sizeFromShape(shape.slice(0, k));
  const sliceStrides = shape.slice(0, k).map((_, j) => tf.util.sizeFromShape(shape.slice(j + 1, k)));
  const n = iv.length / k;
  const flat = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += iv[i * k + j]! * sliceStrides[j]!;
    if (row < 0 || row >= rows) return undefined; // the cpu kernel raises "Invalid indices"
    flat[i] = row;
  }
  const out = new Float32Array(tf.util.sizeFromShape(shape));
  if (uv.length !== n * (out.length / Math.max(rows, 1))) return undefined;
  addon.scatterAdd(uv, flat, out);
  return args.backend.makeTensorInfo(shape, 'float32', out);
}

function unsortedSegmentSum(addon: NativeAddon, args: NativeKernelArgs): tf.TensorInfo | undefined {
  const { x, segmentIds } = args.inputs;
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const xv = f32(args.backend, x);
  const ids = i32(args.backend, segmentIds);
  if (!xv || !ids || segmentIds!.shape.length !== 1 || x!.shape[0] !== ids.length) return undefined;
  const outShape = [numSegments, ...x!.shape.slice(1)];
  const out = new Float32Array(tf.util.sizeFromShape(outShape));
  addon.scatterAdd(xv, ids, out); // ids outside [0, numSegments) add nothing, as in tfjs
  return args.backend.makeTensorInfo(outShape, 'float32', out);
}

export const gatherKernels: NativeKernel[] = [
  { kernelName: tf.GatherV2, run: gatherV2 },
  { kernelName: tf.ScatterNd, run: scatterNd },
  { kernelName: tf.UnsortedSegmentSum, run: unsortedSegmentSum },
];
