/**
 * TinyBERT (Jiao et al. 2020) in one plugin: embedding + hidden + attention + prediction
 * losses, summed as the seed's `TinyBERTDistillation.compute_loss`. With `intermediateSteps`
 * it runs TinyBERT's two stages: intermediate-layer distillation for that many steps, then
 * prediction-layer distillation only; without it, all four terms together (the seed).
 */
import * as tf from '@tensorflow/tfjs';
import { attentionMseLoss } from '../losses/attention.js';
import { hiddenMseLoss } from '../losses/hidden.js';
import { attentionMapFromHiddenMap, checkLayerMapSpec, reducePairs, resolveAttentionMap, resolveLayerMap, type LayerMap, type LayerMapSpec, type PairReduction } from '../losses/layer-map.js';
import { combineTeacherLogits, softTargetKlLoss } from '../losses/logit-kd.js';
import type { LinearProjection, ProjectorInit } from '../losses/projection.js';
import type { LossContext, LossPlugin, OutputRequest, Progress, SetupContext, ShapeContext } from '../plugin.js';
import { applyOf, need, projectionIfNeeded, ready, reportPairs, pluginIdentity } from './require.js';
import { DistilleryPluginsError } from '../errors.js';
import { TEMPERATURE_RANGE, checkChoice, describeRange, inRange, type Schedule } from '../schedule.js';

export interface TinyBertPluginOptions {
  name?: string;
  weight?: Schedule;
  /**
   * Transformer-layer map (hidden indices ≥ 1; the embedding pair is its own term). Default
   * `uniform` (the paper's g(m) = m·k). The seed's `hidden_states[1::2]` is `{1: 1, 2: 3, ...}`.
   */
  layerMap?: LayerMapSpec;
  /**
   * Attention-layer map, independent of `layerMap`: an `explicit` map indexes `attentions`
   * (0-based), so the seed's `attentions[::2]` is `{0: 0, 1: 2}`. Default: the attention of
   * each layer `layerMap` pairs.
   */
  attentionLayerMap?: LayerMapSpec;
  /** How the hidden and the attention pairs combine. Default `sum` (TinyBERT and the seed). */
  reduction?: PairReduction;
  /** Starting weights of W_e / W_h; given, the projector exists even at equal widths. */
  embeddingProjector?: ProjectorInit;
  hiddenProjector?: ProjectorInit;
  /** `probabilities` (the seed's `output_attentions`) or `scores` (the paper). Default probabilities. */
  attentionTarget?: 'probabilities' | 'scores';
  /** Prediction-layer temperature. Default 4 (the seed's `/4 … ·16`). */
  temperature?: number;
  /** Steps of intermediate-layer distillation before switching to prediction-layer only. */
  intermediateSteps?: number;
}

export type TinyBertStage = 'joint' | 'intermediate' | 'prediction';

export class TinyBertPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  hiddenMap?: LayerMap;
  attentionMap?: LayerMap;
  /** TinyBERT's W_e and W_h, when widths differ. */
  embeddingProjector?: LinearProjection;
  hiddenProjector?: LinearProjection;

  constructor(private readonly options: TinyBertPluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('TinyBertPlugin', options, 'tinybert'));
    if (options.temperature !== undefined && !inRange(options.temperature, TEMPERATURE_RANGE)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `TinyBertPlugin.temperature must be ${describeRange(TEMPERATURE_RANGE)}, got ${JSON.stringify(options.temperature)}.`);
    if (options.intermediateSteps !== undefined && !(Number.isSafeInteger(options.intermediateSteps) && options.intermediateSteps >= 0)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `TinyBertPlugin.intermediateSteps must be an integer >= 0, got ${JSON.stringify(options.intermediateSteps)}.`);
    checkChoice('TinyBertPlugin.attentionTarget', options.attentionTarget, ['probabilities', 'scores']);
    checkChoice('TinyBertPlugin.reduction', options.reduction, ['mean', 'sum']);
    if (options.layerMap !== undefined) checkLayerMapSpec('TinyBertPlugin.layerMap', options.layerMap);
    if (options.attentionLayerMap !== undefined) checkLayerMapSpec('TinyBertPlugin.attentionLayerMap', options.attentionLayerMap);
  }

  stage(progress: Progress): TinyBertStage {
    const n = this.options.intermediateSteps;
    if (n === undefined) return 'joint';
    return progress.step < n ? 'intermediate' : 'prediction';
  }

  requires(progress: Progress): OutputRequest {
    if (this.stage(progress) === 'prediction') return { logits: true };
    return { logits: true, hiddenStates: true, ...(this.options.attentionTarget === 'scores' ? { attentionScores: true } : { attentions: true }) };
  }

  checkShapes(ctx: ShapeContext): void {
    this.layerMaps(ctx);
  }

  setup({ student, teacher, seed }: SetupContext): void {
    ({ hidden: this.hiddenMap, attention: this.attentionMap } = this.layerMaps({ student, teacher }));
    this.embeddingProjector = projectionIfNeeded(`${this.name}.embeddingProjector`, student.hiddenSize, teacher.hiddenSize, seed, this.options.embeddingProjector);
    this.hiddenProjector = projectionIfNeeded(`${this.name}.hiddenProjector`, student.hiddenSize, teacher.hiddenSize, seed + 1, this.options.hiddenProjector);
  }

  private layerMaps({ student, teacher }: ShapeContext): { hidden: LayerMap; attention: LayerMap } {
    const hidden = resolveLayerMap(this.options.layerMap ?? { kind: 'uniform' }, student.numLayers, teacher.numLayers, { includeEmbeddings: false, what: 'layerMap' });
    const attention = this.options.attentionLayerMap;
    return { hidden, attention: attention ? resolveAttentionMap(attention, student.numLayers, teacher.numLayers, 'attentionLayerMap') : attentionMapFromHiddenMap(hidden) };
  }

  variables(): Map<string, tf.Variable> {
    return new Map([...(this.embeddingProjector?.namedVariables() ?? []), ...(this.hiddenProjector?.namedVariables() ?? [])]);
  }

  compute(ctx: LossContext): tf.Scalar {
    const stage = this.stage(ctx);
    const terms: tf.Scalar[] = [];
    if (stage !== 'prediction') {
      const sHidden = need(ctx.student, 'hiddenStates', 'student', this.name);
      const tHidden = need(ctx.teacher, 'hiddenStates', 'teacher', this.name);
      const attKey = this.options.attentionTarget === 'scores' ? 'attentionScores' : 'attentions';
      const emb = hiddenMseLoss(sHidden, tHidden, [[0, 0]], { project: applyOf(this.embeddingProjector) }).total;
      const hiddenMap = ready(this.hiddenMap, this.name);
      const attentionMap = ready(this.attentionMap, this.name);
      const hiddenPairs = hiddenMseLoss(sHidden, tHidden, hiddenMap, { project: applyOf(this.hiddenProjector) }).perPair;
      const attentionPairs = attentionMseLoss(need(ctx.student, attKey, 'student', this.name), need(ctx.teacher, attKey, 'teacher', this.name), attentionMap, {
        target: this.options.attentionTarget,
        attentionMask: ctx.attentionMask,
      }).perPair;
      const reduction = this.options.reduction ?? 'sum';
      const hidden = reducePairs(hiddenPairs, reduction);
      const attention = reducePairs(attentionPairs, reduction);
      ctx.report('embedding', emb);
      ctx.report('hidden', hidden);
      ctx.report('attention', attention);
      reportPairs(ctx, hiddenMap, hiddenPairs, 'hidden/');
      reportPairs(ctx, attentionMap, attentionPairs, 'attention/');
      terms.push(emb, hidden, attention);
    }
    if (stage !== 'intermediate') {
      const t = this.options.temperature ?? 4;
      const prediction = softTargetKlLoss(ctx.student.logits, combineTeacherLogits(ctx.teachers.map((x) => x.logits), ctx.teacherWeights, 'kl', t), t);
      ctx.report('prediction', prediction);
      terms.push(prediction);
    }
    return tf.addN(terms) as tf.Scalar;
  }

  dispose(): void {
    this.embeddingProjector?.dispose();
    this.hiddenProjector?.dispose();
  }
}
