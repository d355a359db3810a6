/**
 * Fused transformer kernels, registered under names of their own (native backend only; no cpu
 * twin): LayerNorm and its gradient, erf-GELU and its gradient, the softmax gradient. Each is
 * one pass over the activation instead of the 5–12 kernels of the tfjs composition.
 * @distillery/models calls them by these names through `tf.engine().runKernel` when the active
 * backend has them (`tf.getKernel`), and composes the same maths from tfjs ops otherwise: the
 * kernel name is the whole contract, which test/native/fused.test.ts checks end to end.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernelArgs } from './kernel-util.js';

export const FUSED_KERNELS = {
  layerNorm: 'DistilleryLayerNorm',
  layerNormGrad: 'DistilleryLayerNormGrad',
  gelu: 'DistilleryGelu',
  geluGrad: 'DistilleryGeluGrad',
  softmaxGrad: 'DistillerySoftmaxGrad',
} as const;

/** Float32 values of each named input, all of one shape as `same` lists; a clear error otherwise. */
function floats(kernel: string, backend: MathBackendCPU, inputs: tf.NamedTensorInfoMap, names: readonly string[]): Float32Array[] {
  const values = names.map((n) => f32(backend, inputs[n]));
  if (values.some((v) => v === undefined)) {
    throw new Error(`${kernel}: ${names.join(', ')} must be float32 tensors (got ${names.map((n) => `${n} ${inputs[n]?.dtype}`).join(', ')})`);
  }
  return values as Float32Array[];
}

function sameShape(kernel: string, inputs: tf.NamedTensorInfoMap, names: readonly string[]): void {
  const first = inputs[names[0]!]!.shape;
  if (!names.every((n) => tf.util.arraysEqual(inputs[n]!.shape, first))) {
    throw new Error(`${kernel}: ${names.join(', ')} must share one shape (got ${names.map((n) => `[${inputs[n]!.shape}]`).join(', ')})`);
  }
}

/** The width of the last axis, which γ (and β) must match. */
function lastAxis(kernel: string, x: tf.TensorInfo, gamma: tf.TensorInfo): number {
  const h = x.shape.at(-1) ?? 0;
  if (gamma.shape.length !== 1 || gamma.shape[0] !== h || h === 0) throw new Error(`${kernel}: gamma [${gamma.shape}] must be [${h}], the last axis of [${x.shape}]`);
  return h;
}

function layerNorm(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo[] {
  const name = FUSED_KERNELS.layerNorm;
  const [x, gamma, beta] = floats(name, backend, inputs, ['x', 'gamma', 'beta']) as [Float32Array, Float32Array, Float32Array];
  sameShape(name, inputs, ['gamma', 'beta']);
  lastAxis(name, inputs.x!, inputs.gamma!);
  const [y, xhat, rstd] = [outputF32(backend, x.length), outputF32(backend, x.length), outputF32(backend, x.length / gamma.length)];
  addon.layerNorm(x, gamma, beta, y, xhat, rstd, (attrs as { eps: number }).eps);
  const shape = inputs.x!.shape;
  return [backend.makeTensorInfo(shape, 'float32', y), backend.makeTensorInfo(shape, 'float32', xhat), backend.makeTensorInfo([...shape.slice(0, -1), 1], 'float32', rstd)];
}

function layerNormGrad(addon: NativeAddon, { inputs, backend }: NativeKernelArgs): tf.TensorInfo[] {
  const name = FUSED_KERNELS.layerNormGrad;
  const [dy, xhat, rstd, gamma] = floats(name, backend, inputs, ['dy', 'xhat', 'rstd', 'gamma']) as [Float32Array, Float32Array, Float32Array, Float32Array];
  sameShape(name, inputs, ['dy', 'xhat']);
  const h = lastAxis(name, inputs.dy!, inputs.gamma!);
  if (rstd.length * h !== dy.length) throw new Error(`${name}: rstd [${inputs.rstd!.shape}] must hold one value per row of [${inputs.dy!.shape}]`);
  const [dx, dgamma, dbeta] = [outputF32(backend, dy.length), new Float32Array(h), new Float32Array(h)];
  addon.layerNormGrad(dy, xhat, rstd, gamma, dx, dgamma, dbeta);
  return [backend.makeTensorInfo(inputs.dy!.shape, 'float32', dx), backend.makeTensorInfo([h], 'float32', dgamma), backend.makeTensorInfo([h], 'float32', dbeta)];
}

function gelu(addon: NativeAddon, { inputs, backend }: NativeKernelArgs): tf.TensorInfo {
  const [x] = floats(FUSED_KERNELS.gelu, backend, inputs, ['x']) as [Float32Array];
  const y = outputF32(backend, x.length);
  addon.gelu(x, y);
  return backend.makeTensorInfo(inputs.x!.shape, 'float32', y);
}

function geluGrad(addon: NativeAddon, { inputs, backend }: NativeKernelArgs): tf.TensorInfo {
  const name = FUSED_KERNELS.geluGrad;
  const [dy, x] = floats(name, backend, inputs, ['dy', 'x']) as [Float32Array, Float32Array];
  sameShape(name, inputs, ['dy', 'x']);
  const dx = outputF32(backend, x.length);
  addon.geluGrad(dy, x, dx);
  return backend.makeTensorInfo(inputs.x!.shape, 'float32', dx);
}

function softmaxGrad(addon: NativeAddon, { inputs, backend }: NativeKernelArgs): tf.TensorInfo {
  const name = FUSED_KERNELS.softmaxGrad;
  const [dy, y] = floats(name, backend, inputs, ['dy', 'y']) as [Float32Array, Float32Array];
  sameShape(name, inputs, ['dy', 'y']);
  const dx = outputF32(backend, y.length);
  const n = inputs.y!.shape.at(-1) ?? 0;
  if (y.length > 0) addon.softmaxGrad(dy, y, dx, n);
  return backend.makeTensorInfo(inputs.y!.shape, 'float32', dx);
}

/** Kernels only the native backend has, by name. */
export const fusedKernels: ReadonlyArray<{ kernelName: string; run: (addon: NativeAddon, args: NativeKernelArgs) => tf.TensorInfo | tf.TensorInfo[] }> = [
  { kernelName: FUSED_KERNELS.layerNorm, run: layerNorm },
  { kernelName: FUSED_KERNELS.layerNormGrad, run: layerNormGrad },
  { kernelName: FUSED_KERNELS.gelu, run: gelu },
  { kernelName: FUSED_KERNELS.geluGrad, run: geluGrad },
  { kernelName: FUSED_KERNELS.softmaxGrad, run: softmaxGrad },
];
