/** Patient-KD: normalised [CLS] MSE on mapped intermediate layers (PKD-skip by default). */
import type * as tf from '@tensorflow/tfjs';
import { checkLayerMapSpec, resolveLayerMap, type LayerMap, type LayerMapSpec } from '../losses/layer-map.js';
import { patientKdLoss } from '../losses/patient.js';
import type { LinearProjection } from '../losses/projection.js';
import type { LossContext, LossPlugin, ModelShape, OutputRequest, SetupContext, ShapeContext } from '../plugin.js';
import type { Schedule } from '../schedule.js';
import { applyOf, need, projectionIfNeeded, ready, pluginIdentity } from './require.js';

export interface PatientKdPluginOptions {
  name?: string;
  weight?: Schedule;
  /** Default `uniform` over intermediate layers (PKD-skip); `last` gives PKD-last. */
  layerMap?: LayerMapSpec;
}

export class PatientKdPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  map?: LayerMap;
  projector?: LinearProjection;

  constructor(private readonly options: PatientKdPluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('PatientKdPlugin', options, 'pkd'));
    if (options.layerMap !== undefined) checkLayerMapSpec('PatientKdPlugin.layerMap', options.layerMap);
  }

  requires(): OutputRequest {
    return { hiddenStates: true };
  }

  checkShapes({ student, teacher }: ShapeContext): void {
    this.layerMap(student, teacher);
  }

  setup({ student, teacher, seed }: SetupContext): void {
    this.map = this.layerMap(student, teacher);
    this.projector = projectionIfNeeded(`${this.name}.projector`, student.hiddenSize, teacher.hiddenSize, seed);
  }

  private layerMap(student: ModelShape, teacher: ModelShape): LayerMap {
    // PKD leaves out the last student layer: the prediction loss already covers it.
    const full = resolveLayerMap(this.options.layerMap ?? { kind: 'uniform' }, student.numLayers, teacher.numLayers, { includeEmbeddings: false, what: 'layerMap' });
    return full.length > 1 ? full.filter(([s]) => s < student.numLayers) : full;
  }

  variables(): Map<string, tf.Variable> {
    return this.projector?.namedVariables() ?? new Map();
  }

  compute(ctx: LossContext): tf.Scalar {
    return patientKdLoss(need(ctx.student, 'hiddenStates', 'student', this.name), need(ctx.teacher, 'hiddenStates', 'teacher', this.name), ready(this.map, this.name), applyOf(this.projector));
  }

  dispose(): void {
    this.projector?.dispose();
  }
}
