/**
 * Sum and Mean over float32 axes that form one contiguous block once size-1 dims are ignored
 * (last-axis LayerNorm statistics, bias gradients over [B, S]). The cpu backend transposes
 * first and then sums in JS; here it is one threaded pass.
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

/** x as [outer, r, inner] for a reduction over `axes`, or undefined when the axes are not one block. */
export function reductionView(shape: readonly number[], axes: readonly number[]): [number, number, number] | undefined {
  let outer = 1;
  let r = 1;
  let inner = 1;
  let phase = 0; // 0: before the reduced block, 1: inside it, 2: after it
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (d === 1) continue; // a size-1 dim fits any phase
    const reduced = axes.includes(i);
    if (reduced && phase === 2) return undefined;
    if (reduced) phase = 1;
    else if (phase === 1) phase = 2;
    if (reduced) r *= d;
    else if (phase === 0) outer *= d;
    else inner *= d;
  }
  return [outer, r, inner];
}

function reduceKernel(kernelName: string, mean: boolean): NativeKernel {
  return {
    kernelName,
    run(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs) {
      const x = inputs.x!;
      const xv = f32(backend, x);
      if (!xv) return undefined;
      const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const view = reductionView(x.shape, axes);
      if (!view) return undefined;
      const [outer, r, inner] = view;
      const [kept] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
      const outShape = keepDims ? tf.backend_util.expandShapeToKeepDim(kept, axes) : kept;
      const out = outputF32(backend, outer * inner);
      addon.reduce(xv, out, outer, r, inner, mean);
      return backend.makeTensorInfo(outShape, 'float32', out);
    },
  };
}

export const reduceKernels: NativeKernel[] = [reduceKernel(tf.Sum, false), reduceKernel(tf.Mean, true)];
