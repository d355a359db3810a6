/**
 * DistilBERT's cosine loss (Sanh et al. 2019, `distiller.py`): align the directions of the
 * student's and teacher's last hidden states, `mean(1 − cos(s, t))` over real tokens
 * (`CosineEmbeddingLoss` with target 1 on the mask-selected rows).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';

/** `CosineEmbeddingLoss`'s guard against zero vectors. */
const EPS = 1e-8;

export function cosineHiddenLoss(student: tf.Tensor, teacher: tf.Tensor, attentionMask?: tf.Tensor): tf.Scalar {
  if (student.shape.join() !== teacher.shape.join()) {
    throw new DistilleryPluginsError('SHAPE_MISMATCH', `cosine loss: student [${student.shape.join(', ')}] vs teacher [${teacher.shape.join(', ')}]; widths must match (give a projection) and both models must see the same batch.`);
  }
  return tf.tidy(() => {
    const dot = tf.sum(tf.mul(student, teacher), -1); // [B, S]
    const norms = tf.sqrt(tf.mul(tf.add(tf.sum(tf.square(student), -1), EPS), tf.add(tf.sum(tf.square(teacher), -1), EPS))); // [B, S]
    const loss = tf.sub(1, tf.div(dot, norms)); // [B, S]
    if (attentionMask === undefined) return tf.mean(loss);
    const keep = tf.cast(attentionMask, 'float32'); // [B, S]
    return tf.div(tf.sum(tf.mul(loss, keep)), tf.maximum(tf.sum(keep), 1));
  });
}
