/** AttentionDistill: attention-map MSE over a layer map; teacher heads averaged when counts differ. */
import type * as tf from '@tensorflow/tfjs';
import { attentionMseLoss } from '../losses/attention.js';
import { checkLayerMapSpec, resolveAttentionMap, type LayerMap, type LayerMapSpec, type PairReduction } from '../losses/layer-map.js';
import type { LossContext, LossPlugin, OutputRequest, ShapeContext } from '../plugin.js';
import { need, ready, reportPairs, pluginIdentity } from './require.js';
import { checkChoice, type Schedule } from '../schedule.js';

export interface AttentionPluginOptions {
  name?: string;
  weight?: Schedule;
  /**
   * `uniform` / `last` / `skip` pair layers as the hidden map does (layer i ↔ its teacher layer);
   * an `explicit` map here indexes attention layers directly (0-based). Default `uniform`.
   */
  layerMap?: LayerMapSpec;
  /** `probabilities` (the seed) or pre-softmax `scores` with masked keys zeroed (TinyBERT). */
  target?: 'probabilities' | 'scores';
  /** Leave (query, key) pairs that touch padding out of the mean. Default false. */
  maskPadding?: boolean;
  /** How the pairs combine: `mean` (default, the seed's `attention_distillation_loss`) or `sum`. */
  reduction?: PairReduction;
}

export class AttentionPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  map?: LayerMap;

  constructor(private readonly options: AttentionPluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('AttentionPlugin', options, 'attention'));
    checkChoice('AttentionPlugin.target', options.target, ['probabilities', 'scores']);
    checkChoice('AttentionPlugin.reduction', options.reduction, ['mean', 'sum']);
    if (options.layerMap !== undefined) checkLayerMapSpec('AttentionPlugin.layerMap', options.layerMap);
  }

  requires(): OutputRequest {
    return this.options.target === 'scores' ? { attentionScores: true } : { attentions: true };
  }

  checkShapes(ctx: ShapeContext): void {
    this.layerMap(ctx);
  }

  setup(ctx: ShapeContext): void {
    this.map = this.layerMap(ctx);
  }

  private layerMap({ student, teacher }: ShapeContext): LayerMap {
    return resolveAttentionMap(this.options.layerMap ?? { kind: 'uniform' }, student.numLayers, teacher.numLayers, 'layerMap');
  }

  compute(ctx: LossContext): tf.Scalar {
    const key = this.options.target === 'scores' ? 'attentionScores' : 'attentions';
    const map = ready(this.map, this.name);
    const { total, perPair } = attentionMseLoss(need(ctx.student, key, 'student', this.name), need(ctx.teacher, key, 'teacher', this.name), map, {
      target: this.options.target,
      attentionMask: ctx.attentionMask,
      maskPadding: this.options.maskPadding,
      reduction: this.options.reduction,
    });
    reportPairs(ctx, map, perPair);
    return total;
  }
}
