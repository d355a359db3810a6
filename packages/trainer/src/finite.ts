/** NaN/Inf detection over many tensors with one read-back, for checks before weights are kept or saved. */
import * as tf from '@tensorflow/tfjs';

/** Names of the tensors holding a NaN or ±Inf (integer tensors are always finite). */
export function nonFiniteNames(tensors: ReadonlyMap<string, tf.Tensor>): string[] {
  const floats = [...tensors].filter(([, t]) => t.dtype === 'float32');
  if (floats.length === 0) return [];
  const ok = tf.tidy(() => tf.stack(floats.map(([, t]) => tf.all(tf.isFinite(t)))).dataSync());
  return floats.filter((_, i) => !ok[i]).map(([name]) => name);
}
