/**
 * MatMul kernels on OpenBLAS sgemm: BatchMatMul (every transpose combination, batch dims
 * broadcast) and _FusedMatMul (bias folded into sgemm's beta; activation via the registered kernels).
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, runKernel, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

/**
 * Element offset of each output batch's matrix inside an input whose batch dims broadcast to
 * `outBatch` (numpy rules: dims aligned right, a size-1 dim repeats).
 */
export function batchOffsets(outBatch: readonly number[], inBatch: readonly number[], matrixSize: number): Float64Array {
  const count = outBatch.reduce((p, d) => p * d, 1);
  const rank = outBatch.length;
  // Stride of each output batch dim in the input; 0 where the input broadcasts (missing or size 1).
  const strides = new Array<number>(rank).fill(0);
  let stride = matrixSize;
  for (let i = inBatch.length - 1; i >= 0; i--) {
    const d = inBatch[i]!;
    if (d !== 1) strides[rank - inBatch.length + i] = stride;
    stride *= d;
  }
  const offsets = new Float64Array(count);
  const index = new Array<number>(rank).fill(0);
  let offset = 0;
  for (let o = 0; o < count; o++) {
    offsets[o] = offset;
    // Odometer increment over the output batch index.
    for (let i = rank - 1; i >= 0; i--) {
      offset += strides[i]!;
      if (++index[i]! < outBatch[i]!) break;
      offset -= strides[i]! * outBatch[i]!;
      index[i] = 0;
    }
  }
  return offsets;
}

/** op(a)·op(b) (+ bias row when given), or undefined when these inputs stay on the cpu kernel. */
function product(addon: NativeAddon, backend: MathBackendCPU, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, bias?: Float32Array): tf.TensorInfo | undefined {
  const av = f32(backend, a);
  const bv = f32(backend, b);
  if (!av || !bv || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = a.shape[transposeA ? ar - 1 : ar - 2]!;
  const k = a.shape[transposeA ? ar - 2 : ar - 1]!;
  const kb = b.shape[transposeB ? br - 1 : br - 2]!;
  const n = b.shape[transposeB ? br - 2 : br - 1]!;
  if (k !== kb) return undefined; // the cpu kernel raises tfjs's own shape error
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const aOff = batchOffsets(outBatch, aBatch, m * k);
  const bOff = batchOffsets(outBatch, bBatch, k * n);
  // sgemm writes every element (beta 0 stores zeros), except for k = 0: then out must start as zeros.
  const out = k === 0 ? new Float32Array(aOff.length * m * n) : outputF32(backend, aOff.length * m * n); // [batch, m, n]
  addon.gemm(av, aOff, bv, bOff, out, m, n, k, transposeA, transposeB, bias ?? null);
  return backend.makeTensorInfo([...outBatch, m, n], 'float32', out);
}

function batchMatMul(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo | undefined {
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  return product(addon, backend, inputs.a!, inputs.b!, transposeA, transposeB);
}

// _FusedMatMul's activation names → the kernel that applies each (as the cpu backend's applyActivation).
const ACTIVATION_KERNELS: Record<string, string> = {
  relu: tf.Relu, relu6: tf.Relu6, elu: tf.Elu, sigmoid: tf.Sigmoid, prelu: tf.Prelu, leakyrelu: tf.LeakyRelu,
};

function fusedMatMul(addon: NativeAddon, args: NativeKernelArgs): tf.TensorInfo | undefined {
  const { inputs, backend } = args;
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as tf._FusedMatMulAttrs;
  const activationKernel = activation === 'linear' ? undefined : ACTIVATION_KERNELS[activation];
  if (activation !== 'linear' && activationKernel === undefined) return undefined;
  // A bias that is one row ([n], [1, n], ...) and adds no leading dims rides in sgemm; any other
  // shape is added after, with the Add kernel's broadcasting.
  const biasValues = f32(backend, bias);
  const nOut = b!.shape[transposeB ? b!.shape.length - 2 : b!.shape.length - 1];
  const outRank = Math.max(a!.shape.length, b!.shape.length);
  const isRow = biasValues && bias!.shape.at(-1) === nOut && biasValues.length === nOut && bias!.shape.length <= outRank;
  const rowBias = isRow ? biasValues : undefined;
  let current = product(addon, backend, a!, b!, transposeA, transposeB, rowBias);
  if (!current) return undefined;
  if (bias && !rowBias) {
    const added = runKernel(tf.Add, { inputs: { a: current, b: bias }, backend });
    backend.disposeIntermediateTensorInfo(current);
    current = added;
  }
  if (activationKernel) {
    const actInputs: tf.NamedTensorInfoMap = activation === 'prelu' ? { x: current, alpha: preluActivationWeights! } : { x: current };
    const actAttrs = activation === 'leakyrelu' ? ({ alpha: leakyreluAlpha } as tf.NamedAttrMap) : {};
    const activated = runKernel(activationKernel, { inputs: actInputs, backend, attrs: actAttrs });
    backend.disposeIntermediateTensorInfo(current);
    current = activated;
  }
  return current;
}

export const matMulKernels: NativeKernel[] = [
  { kernelName: tf.BatchMatMul, run: batchMatMul },
  { kernelName: tf._FusedMatMul, run: fusedMatMul },
];
