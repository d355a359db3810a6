/**
 * Elementwise float32 kernels: the broadcasting binary ops (the cpu backend decodes every
 * broadcast element's index in JS, its slowest path) and the common unary maths.
 */
import * as tf from '@tensorflow/tfjs';
import { BINARY_OPS, UNARY_OPS, type NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

const MAX_RANK = 8; // src/elementwise.c

export interface BroadcastPlan {
  shape: Float64Array; // collapsed output shape
  aStrides: Float64Array; // element stride of a per output dim (0 = repeated)
  bStrides: Float64Array;
}

/**
 * Describe `out = a ∘ b` as strided walks over a collapsed output shape: size-1 output dims
 * vanish and neighbouring dims that both inputs traverse contiguously merge, so e.g.
 * [B, S, H] + [H] becomes [B·S, H] with a-strides [H, 1] and b-strides [0, 1].
 */
export function broadcastPlan(outShape: readonly number[], aShape: readonly number[], bShape: readonly number[]): BroadcastPlan {
  const strides = (shape: readonly number[]): number[] => {
    const s = new Array<number>(outShape.length).fill(0);
    let stride = 1;
    for (let i = shape.length - 1; i >= 0; i--) {
      const d = shape[i]!;
      if (d !== 1) s[outShape.length - shape.length + i] = stride;
      stride *= d;
    }
    return s;
  };
  const sa = strides(aShape);
  const sb = strides(bShape);
  const dims: Array<[number, number, number]> = []; // [size, aStride, bStride], outermost first
  for (let i = 0; i < outShape.length; i++) {
    const size = outShape[i]!;
    if (size === 1) continue;
    const prev = dims.at(-1);
    // prev (outer) merges with this dim when stepping prev equals stepping over all of this dim.
    if (prev && prev[1] === sa[i]! * size && prev[2] === sb[i]! * size) prev.splice(0, 3, prev[0] * size, sa[i]!, sb[i]!);
    else dims.push([size, sa[i]!, sb[i]!]);
  }
  if (dims.length === 0) dims.push([1, 0, 0]);
  return {
    shape: Float64Array.from(dims, (d) => d[0]),
    aStrides: Float64Array.from(dims, (d) => d[1]),
    bStrides: Float64Array.from(dims, (d) => d[2]),
  };
}

function binaryKernel(kernelName: (typeof BINARY_OPS)[number]): NativeKernel {
  const op = BINARY_OPS.indexOf(kernelName);
  return {
    kernelName,
    run(addon: NativeAddon, { inputs, backend }: NativeKernelArgs) {
      const { a, b } = inputs;
      const av = f32(backend, a);
      const bv = f32(backend, b);
      if (!av || !bv) return undefined;
      const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a!.shape, b!.shape);
      const plan = broadcastPlan(outShape, a!.shape, b!.shape);
      if (plan.shape.length > MAX_RANK) return undefined;
      const out = outputF32(backend, tf.util.sizeFromShape(outShape));
      addon.binary(op, av, bv, out, plan.shape, plan.aStrides, plan.bStrides);
      return backend.makeTensorInfo(outShape, 'float32', out);
    },
  };
}

function unaryKernel(kernelName: (typeof UNARY_OPS)[number]): NativeKernel {
  const op = UNARY_OPS.indexOf(kernelName);
  return {
    kernelName,
    run(addon: NativeAddon, { inputs, backend }: NativeKernelArgs) {
      const xv = f32(backend, inputs.x);
      if (!xv) return undefined;
      const out = outputF32(backend, xv.length);
      addon.unary(op, xv, out);
      return backend.makeTensorInfo(inputs.x!.shape, 'float32', out);
    },
  };
}

export const elementwiseKernels: NativeKernel[] = [...BINARY_OPS.map(binaryKernel), ...UNARY_OPS.map(unaryKernel)];
