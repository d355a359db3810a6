/** NaN/Inf detection over many tensors with one read-back, for checks before weights are kept or saved. */
import * as tf from '@tensorflow/tfjs';

/**
 * Names of the tensors holding a NaN or ±Inf (integer tensors are always finite). Read with
 * `await data()`: weights may live on a GPU, where a synchronous read throws in Node.
 */
export async function nonFiniteNames(tensors: ReadonlyMap<string, tf.Tensor>): Promise<string[]> {
  const floats = [...tensors].filter(([, t]) => t.dtype === 'float32');
  if (floats.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(floats.map(([, t]) => tf.all(tf.isFinite(t)))));
  const ok = await flags.data();
  flags.dispose();
  return floats.filter((_, i) => !ok[i]).map(([name]) => name);
}
