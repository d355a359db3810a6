/**
 * A fused AdamW step as a tfjs kernel of its own ('DistilleryFusedAdamW', native backend only):
 * one pass producing the new parameter and moments, instead of ~13 elementwise kernels that
 * each allocate a parameter-sized array. Same float32 arithmetic, in the same order, as the
 * composed update in @distillery/trainer's AdamW (torch semantics, decoupled decay).
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernelArgs } from './kernel-util.js';

export const FUSED_ADAMW = 'DistilleryFusedAdamW';

export interface FusedAdamWAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled weight decay for this parameter (0 = none). */
  weightDecay: number;
  /** 1-based step count of this parameter, for the bias corrections. */
  step: number;
}

export function fusedAdamWKernel(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo[] {
  const { param, grad, m, v } = inputs;
  const [pv, gv, mv, vv] = [param, grad, m, v].map((t) => f32(backend, t));
  if (!pv || !gv || !mv || !vv || ![grad, m, v].every((t) => tf.util.arraysEqual(t!.shape, param!.shape))) {
    throw new Error(`${FUSED_ADAMW}: param, grad, m and v must be float32 tensors of one shape (got ${[param, grad, m, v].map((t) => `${t?.dtype}[${t?.shape}]`).join(', ')})`);
  }
  const { lr, beta1, beta2, epsilon, weightDecay, step } = attrs as unknown as FusedAdamWAttrs;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  // Float32Array rounds each scalar exactly as a scalar tensor operand would be rounded.
  const scalars = Float32Array.from([beta1, 1 - beta1, beta2, 1 - beta2, Math.sqrt(bc2), epsilon, lr / bc1, 1 - lr * weightDecay]);
  const outs = [outputF32(backend, pv.length), outputF32(backend, pv.length), outputF32(backend, pv.length)] as const;
  addon.adamw(pv, gv, mv, vv, ...outs, scalars, weightDecay > 0);
  return outs.map((values) => backend.makeTensorInfo(param!.shape, 'float32', values));
}

/**
 * [param', m', v'] from one fused AdamW step when the active backend has the kernel, else
 * undefined (compose the update from ordinary ops then). Call inside tf.tidy like any op.
 */
export function fusedAdamW(param: tf.Tensor, grad: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: FusedAdamWAttrs): [tf.Tensor, tf.Tensor, tf.Tensor] | undefined {
  if (!tf.getKernel(FUSED_ADAMW, tf.getBackend())) return undefined;
  return tf.engine().runKernel(FUSED_ADAMW, { param, grad, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}
