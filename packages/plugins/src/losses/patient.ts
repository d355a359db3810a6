/**
 * Patient-KD (Sun et al. 2019): match the L2-normalised [CLS] vectors of mapped layers,
 * `mse(s/‖s‖, t/‖t‖)` as in the authors' `patience_loss`, averaged over pairs.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { pick } from './hidden.js';
import type { LayerMap } from './layer-map.js';

/** `F.normalize`'s floor on the norm. */
const EPS = 1e-12;

function normalisedCls(hidden: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const cls = tf.squeeze(tf.slice(hidden, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, H]
    return tf.div(cls, tf.maximum(tf.norm(cls, 2, -1, true), EPS));
  });
}

export function patientKdLoss(studentHidden: readonly tf.Tensor[], teacherHidden: readonly tf.Tensor[], map: LayerMap, project?: (x: tf.Tensor) => tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const perPair = map.map(([si, ti]) => {
      const s = pick(studentHidden, si, 'student hiddenStates'); // [B, S, Hs]
      const t = pick(teacherHidden, ti, 'teacher hiddenStates'); // [B, S, Ht]
      const sCls = normalisedCls(project ? project(s) : s); // [B, Ht]
      const tCls = normalisedCls(t); // [B, Ht]
      if (sCls.shape.join() !== tCls.shape.join()) {
        throw new DistilleryPluginsError('SHAPE_MISMATCH', `Patient-KD pair (student ${si}, teacher ${ti}): [CLS] widths ${sCls.shape[1]} vs ${tCls.shape[1]}; give a projection.`);
      }
      return tf.mean(tf.squaredDifference(sCls, tCls));
    });
    return tf.div(tf.addN(perPair), perPair.length) as tf.Scalar;
  });
}
