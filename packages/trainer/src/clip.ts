/** Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ (norm over all gradients together). */
import * as tf from '@tensorflow/tfjs';

/** sqrt(Σ g²) over every gradient. */
export function globalNorm(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())).sqrt() as tf.Scalar);
}

/** Scale every gradient by min(1, maxNorm / (totalNorm + 1e-6)); returns new tensors (caller disposes). */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number, totalNorm: number): Map<string, tf.Tensor> {
  const coef = Math.min(1, maxNorm / (totalNorm + 1e-6));
  return new Map([...grads].map(([name, g]) => [name, coef < 1 ? tf.mul(g, coef) : tf.clone(g)]));
}
