/** DistilBERT's cosine loss on the last hidden states (real tokens only, as `distiller.py`). */
import type * as tf from '@tensorflow/tfjs';
import { cosineHiddenLoss } from '../losses/cosine.js';
import type { LinearProjection } from '../losses/projection.js';
import type { LossContext, LossPlugin, OutputRequest, SetupContext } from '../plugin.js';
import type { Schedule } from '../schedule.js';
import { need, projectionIfNeeded, pluginIdentity } from './require.js';

export interface CosinePluginOptions {
  name?: string;
  weight?: Schedule;
}

export class CosinePlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  projector?: LinearProjection;

  constructor(options: CosinePluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('CosinePlugin', options, 'cosine'));
  }

  requires(): OutputRequest {
    return { hiddenStates: true };
  }

  setup({ student, teacher, seed }: SetupContext): void {
    this.projector = projectionIfNeeded(`${this.name}.projector`, student.hiddenSize, teacher.hiddenSize, seed);
  }

  variables(): Map<string, tf.Variable> {
    return this.projector?.namedVariables() ?? new Map();
  }

  compute(ctx: LossContext): tf.Scalar {
    const s = need(ctx.student, 'hiddenStates', 'student', this.name);
    const t = need(ctx.teacher, 'hiddenStates', 'teacher', this.name);
    const last = s[s.length - 1]!; // [B, S, Hs]
    return cosineHiddenLoss(this.projector ? this.projector.apply(last) : last, t[t.length - 1]!, ctx.attentionMask);
  }

  dispose(): void {
    this.projector?.dispose();
  }
}
