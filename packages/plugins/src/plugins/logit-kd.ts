/** Prediction-layer KD as a plugin: the seed's `DistillationLoss`, with schedules and several teachers. */
import * as tf from '@tensorflow/tfjs';
import { combineTeacherLogits, logitKdLoss, type LogitKdKind, type LogitTarget } from '../losses/logit-kd.js';
import type { LossContext, LossPlugin, OutputRequest, Progress } from '../plugin.js';
import { FRACTION_RANGE, TEMPERATURE_RANGE, checkChoice, checkSchedule, scheduleValue, type Schedule } from '../schedule.js';
import { pluginIdentity } from './require.js';

export interface LogitKdPluginOptions {
  name?: string;
  weight?: Schedule;
  kind?: LogitKdKind;
  /** Default 4 (seed); a schedule anneals it. */
  temperature?: Schedule;
  /** Default 0.5 (seed); the hard-label term gets `1 − alpha`. */
  alpha?: Schedule;
  /** `sequence` / `token` (default by logits rank) or `span` (question answering start/end logits). */
  target?: LogitTarget;
}

export class LogitKdPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  private readonly kind: LogitKdKind;
  private readonly temperature: Schedule;
  private readonly alpha: Schedule;
  private readonly target: LogitTarget | undefined;

  constructor(options: LogitKdPluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('LogitKdPlugin', options, 'kd'));
    this.kind = options.kind ?? 'kl';
    this.temperature = options.temperature ?? 4;
    this.alpha = options.alpha ?? 0.5;
    this.target = options.target;
    checkChoice('LogitKdPlugin.kind', this.kind, ['kl', 'mse', 'regression']);
    checkSchedule('LogitKdPlugin.temperature', this.temperature, TEMPERATURE_RANGE);
    checkSchedule('LogitKdPlugin.alpha', this.alpha, FRACTION_RANGE);
    checkChoice('LogitKdPlugin.target', this.target, ['sequence', 'token', 'span']);
  }

  requires(): OutputRequest {
    return { logits: true };
  }

  /** Temperature and alpha at this point of the run. */
  settings(progress: Progress): { temperature: number; alpha: number } {
    return { temperature: scheduleValue(this.temperature, progress.step, progress.maxSteps), alpha: scheduleValue(this.alpha, progress.step, progress.maxSteps) };
  }

  compute(ctx: LossContext): tf.Scalar {
    const { temperature, alpha } = this.settings(ctx);
    const teacher = combineTeacherLogits(ctx.teachers.map((t) => t.logits), ctx.teacherWeights, this.kind, temperature, { ...(this.target && { target: this.target }), attentionMask: ctx.attentionMask });
    const terms = logitKdLoss(ctx.student.logits, teacher, ctx.labels, { kind: this.kind, temperature, alpha, attentionMask: ctx.attentionMask, ...(this.target && { target: this.target }) });
    ctx.report('soft', terms.soft);
    if (terms.hard) ctx.report('hard', terms.hard);
    return terms.total;
  }
}
