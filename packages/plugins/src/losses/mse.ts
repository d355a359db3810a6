/**
 * Mean squared error, optionally restricted to valid (unpadded) positions.
 * The unmasked form is exactly `F.mse_loss` (mean over every element), the seed's choice.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * `mean((a − b)²)`. With `mask` (broadcastable to `a`, 1 = keep, 0 = drop) the mean runs
 * over kept elements only, so padding neither adds error nor dilutes the average.
 */
export function mseLoss(a: tf.Tensor, b: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const sq = tf.squaredDifference(a, b);
    if (mask === undefined) return tf.mean(sq);
    const weight = tf.broadcastTo(tf.cast(mask, 'float32'), sq.shape);
    // Denominator counts every kept element; a fully padded batch would divide by 0, so floor it at 1.
    return tf.div(tf.sum(tf.mul(sq, weight)), tf.maximum(tf.sum(weight), 1));
  });
}

/** Padding mask `[B, S]` as `[B, S, 1]` float, ready to broadcast over hidden features. */
export function tokenMask(attentionMask: tf.Tensor): tf.Tensor3D {
  return tf.tidy(() => tf.expandDims(tf.cast(attentionMask, 'float32'), -1) as tf.Tensor3D);
}

/** Padding mask `[B, S]` as `[B, 1, S, S]`: a (query, key) pair counts only if both are tokens. */
export function pairMask(attentionMask: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.cast(attentionMask, 'float32'); // [B, S]
    const pairs = tf.mul(tf.expandDims(m, 2), tf.expandDims(m, 1)); // [B, S, S]
    return tf.expandDims(pairs, 1) as tf.Tensor4D;
  });
}
