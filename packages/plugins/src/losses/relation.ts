/**
 * MiniLM (Wang et al. 2020): deep self-attention distillation on the last layer only, so
 * no layer map and no projection are needed. Two KL terms per head:
 * attention transfer `KL(A_t ‖ A_s)` and value relation `KL(VR_t ‖ VR_s)` with
 * `VR = softmax(V Vᵀ / √d_head)`. Head counts must match; hidden widths may differ.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';

/** Floor for probabilities inside log: masked keys have probability 0 and must not give −∞ (or NaN gradients). */
const TINY = 1e-12;

/**
 * `KL(p ‖ q)` over the last axis of `[B, heads, S, S]` distributions, averaged over heads and
 * query rows (real rows only when `attentionMask` is given).
 */
export function relationKlLoss(teacherProbs: tf.Tensor, studentProbs: tf.Tensor, attentionMask?: tf.Tensor): tf.Scalar {
  if (teacherProbs.shape.join() !== studentProbs.shape.join()) {
    throw new DistilleryPluginsError('SHAPE_MISMATCH', `MiniLM relation: teacher [${teacherProbs.shape.join(', ')}] vs student [${studentProbs.shape.join(', ')}]; MiniLM needs equal head counts.`);
  }
  return tf.tidy(() => {
    const p = teacherProbs;
    const logRatio = tf.sub(tf.log(tf.maximum(p, TINY)), tf.log(tf.maximum(studentProbs, TINY)));
    const rowKl = tf.sum(tf.mul(p, logRatio), -1); // [B, heads, S]
    if (attentionMask === undefined) return tf.mean(rowKl);
    const rowsKept = tf.broadcastTo(tf.expandDims(tf.cast(attentionMask, 'float32'), 1), rowKl.shape); // [B, heads, S]
    return tf.div(tf.sum(tf.mul(rowKl, rowsKept)), tf.maximum(tf.sum(rowsKept), 1));
  });
}

/**
 * Value relation `softmax(V Vᵀ / √d_head)` from values `[B, S, H]` split into `heads`;
 * padded keys get probability 0 as in self-attention.
 */
export function valueRelation(values: tf.Tensor3D, heads: number, attentionMask?: tf.Tensor): tf.Tensor4D {
  const [b, s, h] = values.shape;
  if (h % heads !== 0) throw new DistilleryPluginsError('SHAPE_MISMATCH', `MiniLM value relation: width ${h} is not divisible by ${heads} heads.`);
  return tf.tidy(() => {
    const dHead = h / heads;
    const v = tf.transpose(tf.reshape(values, [b, s, heads, dHead]), [0, 2, 1, 3]); // [B, heads, S, d]
    let scores = tf.div(tf.matMul(v, v, false, true), Math.sqrt(dHead)); // [B, heads, S, S]
    if (attentionMask !== undefined) {
      const keys = tf.reshape(tf.cast(attentionMask, 'float32'), [b, 1, 1, s]);
      scores = tf.add(scores, tf.mul(tf.sub(1, keys), -1e9)); // masked keys → probability 0
    }
    return tf.softmax(scores) as tf.Tensor4D;
  });
}

export interface MiniLmTerms {
  attention: tf.Scalar;
  valueRelation: tf.Scalar;
  total: tf.Scalar;
}

/** MiniLM's loss: attention transfer + value relation on the last layer. */
export function miniLmLoss(
  student: { attention: tf.Tensor; values: tf.Tensor3D },
  teacher: { attention: tf.Tensor; values: tf.Tensor3D },
  heads: number,
  attentionMask?: tf.Tensor,
): MiniLmTerms {
  return tf.tidy(() => {
    const attention = relationKlLoss(teacher.attention, student.attention, attentionMask);
    const vr = relationKlLoss(valueRelation(teacher.values, heads, attentionMask), valueRelation(student.values, heads, attentionMask), attentionMask);
    return { attention, valueRelation: vr, total: tf.add(attention, vr) as tf.Scalar };
  });
}
