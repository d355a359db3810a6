/**
 * `UnsortedSegmentSum` for the tfjs wasm backend, which ships none. tf.gather's gradient (every
 * embedding lookup) is a segment sum of the incoming rows into the gathered table's rows, so without
 * it no embedding trains on wasm. A scatter-add loop over the wasm heap: O(rows·width), never a
 * dense one-hot product.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

function unsortedSegmentSum({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, segmentIds } = inputs as unknown as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const wasm = backend as BackendWasm;
  // segmentIds label the leading axes of x: x [...ids.shape, ...inner] → out [numSegments, ...inner].
  const inner = x.shape.slice(segmentIds.shape.length);
  const width = tf.util.sizeFromShape(inner);
  const out = wasm.makeOutput([numSegments, ...inner], x.dtype);
  // Views are taken after makeOutput: allocating may grow the heap and detach older views.
  const sums = wasm.typedArrayFromHeap(out);
  sums.fill(0);
  const values = wasm.typedArrayFromHeap(x as tf.TensorInfo & { dataId: object });
  const ids = wasm.typedArrayFromHeap(segmentIds as tf.TensorInfo & { dataId: object });
  for (let row = 0; row < ids.length; row++) {
    const segment = ids[row]!;
    // Out-of-range ids are dropped, as in TensorFlow.
    if (segment < 0 || segment >= numSegments) continue;
    const src = row * width;
    const dst = segment * width;
    for (let j = 0; j < width; j++) sums[dst + j]! += values[src + j]!;
  }
  return out;
}

export const wasmUnsortedSegmentSum: tf.KernelConfig = {
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
