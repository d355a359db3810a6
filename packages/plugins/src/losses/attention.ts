/**
 * Attention-map distillation (TinyBERT, the seed's `attention_distillation_loss`):
 * the mean (or sum) over mapped layers of `mse(S_att[i], T_att[j])` on `[B, heads, S, S]` maps.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { pick } from './hidden.js';
import { reducePairs, type LayerMap, type PairReduction } from './layer-map.js';
import { mseLoss, pairMask } from './mse.js';

/**
 * Give the teacher map the student's head count. Equal counts pass through; otherwise the
 * teacher's heads are averaged into one map `[B, 1, S, S]` that broadcasts over the student's
 * heads: the seed's `mean(dim=1, keepdim=True).expand_as(student)`, where expand is a view, not
 * a copy (tiling it cost 7% of a small distillation step).
 */
export function matchTeacherHeads(teacher: tf.Tensor, studentHeads: number): tf.Tensor {
  if (teacher.shape[1] === studentHeads) return teacher;
  return tf.mean(teacher, 1, true); // [B, 1, S, S]
}

/**
 * Key mask `[B, S]` → `[B, 1, 1, S]`: TinyBERT compares pre-softmax scores after setting
 * masked keys to 0 (its `where(att <= -1e2, 0, att)`), so padding's −∞ never enters the MSE.
 */
export function zeroMaskedScores(scores: tf.Tensor, attentionMask: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(scores, tf.reshape(tf.cast(attentionMask, 'float32'), [attentionMask.shape[0]!, 1, 1, -1])));
}

export interface AttentionLossOptions {
  /**
   * `probabilities` (post-softmax `attentions`, the seed) or `scores` (pre-softmax
   * `attentionScores`, TinyBERT; masked keys are zeroed, which needs `attentionMask`).
   */
  target?: 'probabilities' | 'scores';
  /** `[B, S]` padding mask. */
  attentionMask?: tf.Tensor;
  /** Leave (query, key) pairs that touch padding out of the mean. Needs `attentionMask`. Default false. */
  maskPadding?: boolean;
  /** How pairs combine into `total`. Default `mean` (the seed's `loss / len(mapping)`). */
  reduction?: PairReduction;
}

/** Per-layer MSE values and their mean or sum. Maps index the `attentions` lists (0-based layers). */
export function attentionMseLoss(studentMaps: readonly tf.Tensor[], teacherMaps: readonly tf.Tensor[], map: LayerMap, options: AttentionLossOptions = {}): { total: tf.Scalar; perPair: tf.Scalar[] } {
  const target = options.target ?? 'probabilities';
  if ((target === 'scores' || options.maskPadding) && options.attentionMask === undefined) {
    throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `attention loss: ${target === 'scores' ? "target 'scores'" : 'maskPadding'} needs the batch's attentionMask.`);
  }
  return tf.tidy(() => {
    const mask = options.maskPadding ? pairMask(options.attentionMask!) : undefined; // [B, 1, S, S]
    const what = target === 'scores' ? 'attentionScores' : 'attentions';
    const perPair = map.map(([si, ti]) => {
      let s = pick(studentMaps, si, `student ${what}`); // [B, Hs, S, S]
      let t = matchTeacherHeads(pick(teacherMaps, ti, `teacher ${what}`), s.shape[1]!); // [B, Hs or 1, S, S]
      // Heads match or broadcast (1); batch and the two sequence axes must agree.
      if ([0, 2, 3].some((axis) => t.shape[axis] !== s.shape[axis])) {
        throw new DistilleryPluginsError('SHAPE_MISMATCH', `attention pair (student ${si}, teacher ${ti}): student [${s.shape.join(', ')}] vs teacher [${t.shape.join(', ')}]; both models must see the same batch.`);
      }
      if (target === 'scores') {
        s = zeroMaskedScores(s, options.attentionMask!);
        t = zeroMaskedScores(t, options.attentionMask!);
      }
      return mseLoss(s, t, mask);
    });
    return { total: reducePairs(perPair, options.reduction), perPair };
  });
}
