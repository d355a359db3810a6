/** AttentionDistill: attention-map MSE over a layer map; teacher heads averaged when counts differ. */
import type * as tf from '@tensorflow/tfjs';
import { attentionMseLoss } from '../losses/attention.js';
import { attentionMapFromHiddenMap, checkLayerMap, resolveLayerMap, type LayerMap, type LayerMapSpec } from '../losses/layer-map.js';
import type { LossContext, LossPlugin, OutputRequest, SetupContext } from '../plugin.js';
import type { Schedule } from '../schedule.js';
import { need, ready } from './require.js';

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
}

export class AttentionPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  map?: LayerMap;

  constructor(private readonly options: AttentionPluginOptions = {}) {
    this.name = options.name ?? 'attention';
    this.weight = options.weight ?? 1;
  }

  requires(): OutputRequest {
    return this.options.target === 'scores' ? { attentionScores: true } : { attentions: true };
  }

  setup({ student, teacher }: SetupContext): void {
    const spec = this.options.layerMap ?? { kind: 'uniform' };
    this.map = spec.kind === 'explicit'
      ? checkLayerMap(resolveLayerMap(spec, student.numLayers, teacher.numLayers), student.numLayers - 1, teacher.numLayers - 1, 'attention layer map')
      : attentionMapFromHiddenMap(resolveLayerMap(spec, student.numLayers, teacher.numLayers, { includeEmbeddings: false }));
  }

  compute(ctx: LossContext): tf.Scalar {
    const key = this.options.target === 'scores' ? 'attentionScores' : 'attentions';
    return attentionMseLoss(need(ctx.student, key, 'student', this.name), need(ctx.teacher, key, 'teacher', this.name), ready(this.map, this.name), {
      target: this.options.target,
      attentionMask: ctx.attentionMask,
      maskPadding: this.options.maskPadding,
    }).total;
  }
}
