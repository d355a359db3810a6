/** LayerDistill: hidden-state MSE over a layer map, through a learned projection when widths differ. */
import type * as tf from '@tensorflow/tfjs';
import { hiddenMseLoss } from '../losses/hidden.js';
import { checkLayerMapSpec, resolveLayerMap, type LayerMap, type LayerMapSpec, type PairReduction } from '../losses/layer-map.js';
import type { LinearProjection, ProjectorInit } from '../losses/projection.js';
import type { LossContext, LossPlugin, ModelShape, OutputRequest, SetupContext, ShapeContext } from '../plugin.js';
import { applyOf, need, projectionIfNeeded, ready, reportPairs, pluginIdentity } from './require.js';
import { checkChoice, type Schedule } from '../schedule.js';

export interface HiddenStatePluginOptions {
  name?: string;
  weight?: Schedule;
  /** Default `uniform` (TinyBERT's i·k). */
  layerMap?: LayerMapSpec;
  /** Pair the embedding outputs too. Default true. */
  includeEmbeddings?: boolean;
  /** Leave padded positions out of the mean. Default false (the seed's `F.mse_loss`). */
  maskPadding?: boolean;
  /** How the pairs combine: `mean` (default) or `sum` (the seed's `layer_distillation_step`). */
  reduction?: PairReduction;
  /** Starting projector weights; given, a projector exists even at equal widths (the seed's `LayerDistillationLoss`). */
  projector?: ProjectorInit;
}

export class HiddenStatePlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  /** The resolved map, after setup. */
  map?: LayerMap;
  projector?: LinearProjection;

  constructor(private readonly options: HiddenStatePluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('HiddenStatePlugin', options, 'hidden'));
    checkChoice('HiddenStatePlugin.reduction', options.reduction, ['mean', 'sum']);
    if (options.layerMap !== undefined) checkLayerMapSpec('HiddenStatePlugin.layerMap', options.layerMap);
  }

  requires(): OutputRequest {
    return { hiddenStates: true };
  }

  checkShapes({ student, teacher }: ShapeContext): void {
    this.layerMap(student, teacher);
  }

  setup({ student, teacher, seed }: SetupContext): void {
    this.map = this.layerMap(student, teacher);
    this.projector = projectionIfNeeded(`${this.name}.projector`, student.hiddenSize, teacher.hiddenSize, seed, this.options.projector);
  }

  private layerMap(student: ModelShape, teacher: ModelShape): LayerMap {
    return resolveLayerMap(this.options.layerMap ?? { kind: 'uniform' }, student.numLayers, teacher.numLayers, { includeEmbeddings: this.options.includeEmbeddings ?? true, what: 'layerMap' });
  }

  variables(): Map<string, tf.Variable> {
    return this.projector?.namedVariables() ?? new Map();
  }

  compute(ctx: LossContext): tf.Scalar {
    const map = ready(this.map, this.name);
    const { total, perPair } = hiddenMseLoss(need(ctx.student, 'hiddenStates', 'student', this.name), need(ctx.teacher, 'hiddenStates', 'teacher', this.name), map, {
      project: applyOf(this.projector),
      attentionMask: this.options.maskPadding ? ctx.attentionMask : undefined,
      reduction: this.options.reduction,
    });
    reportPairs(ctx, map, perPair);
    return total;
  }

  dispose(): void {
    this.projector?.dispose();
  }
}
