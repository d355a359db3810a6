/**
 * Hidden-state distillation (FitNets / TinyBERT / the seed's `LayerDistillationLoss`):
 * the mean (or sum) over mapped pairs of `mse(project(S_h[i]), T_h[j])`.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { reducePairs, type LayerMap, type PairReduction } from './layer-map.js';
import { mseLoss, tokenMask } from './mse.js';

export interface HiddenLossOptions {
  /** Lifts student features to the teacher's width; required when the widths differ. */
  project?: (x: tf.Tensor) => tf.Tensor;
  /** `[B, S]` padding mask: when given, padded positions are left out of the mean. */
  attentionMask?: tf.Tensor;
  /** How pairs combine into `total`. Default `mean`. */
  reduction?: PairReduction;
}

/** Fetch `list[index]` or say which output is short. */
export function pick<T>(list: readonly T[], index: number, what: string): T {
  const x = list[index];
  if (x === undefined) throw new DistilleryPluginsError('OUTPUT_MISSING', `${what}[${index}] does not exist (${list.length} entries); fix the layer map or request the output (outputHiddenStates / outputAttentions).`);
  return x;
}

/** Per-pair MSE values (for logging) and their mean or sum. */
export function hiddenMseLoss(studentHidden: readonly tf.Tensor[], teacherHidden: readonly tf.Tensor[], map: LayerMap, options: HiddenLossOptions = {}): { total: tf.Scalar; perPair: tf.Scalar[] } {
  return tf.tidy(() => {
    const mask = options.attentionMask === undefined ? undefined : tokenMask(options.attentionMask); // [B, S, 1]
    const perPair = map.map(([si, ti]) => {
      const s = pick(studentHidden, si, 'student hiddenStates'); // [B, S, Hs]
      const t = pick(teacherHidden, ti, 'teacher hiddenStates'); // [B, S, Ht]
      const projected = options.project ? options.project(s) : s; // [B, S, Ht]
      if (projected.shape.join() !== t.shape.join()) {
        throw new DistilleryPluginsError('SHAPE_MISMATCH', `hidden pair (student ${si}, teacher ${ti}): student [${projected.shape.join(', ')}] vs teacher [${t.shape.join(', ')}]; give a projection when hidden sizes differ.`);
      }
      return mseLoss(projected, t, mask);
    });
    return { total: reducePairs(perPair, options.reduction), perPair };
  });
}
