/**
 * HF's EarlyStoppingCallback: stop when `metricForBestModel` has not improved on the best so far
 * by more than `threshold` for `patience` evaluations in a row.
 */
import { DistilleryTrainerError } from '../errors.js';
import type { CallbackHook, TrainerCallback } from './handler.js';

export interface EarlyStoppingOptions {
  patience?: number;
  threshold?: number;
}

export class EarlyStoppingCallback implements TrainerCallback {
  readonly name = 'EarlyStoppingCallback';
  readonly patience: number;
  readonly threshold: number;
  private misses = 0;

  constructor(options: EarlyStoppingOptions = {}) {
    this.patience = options.patience ?? 1;
    this.threshold = options.threshold ?? 0;
    if (!Number.isSafeInteger(this.patience) || this.patience < 1) throw new DistilleryTrainerError('ARGS_INVALID', `EarlyStoppingCallback.patience must be a positive integer (evaluations without improvement), got ${JSON.stringify(this.patience)}.`);
    if (typeof this.threshold !== 'number' || !Number.isFinite(this.threshold) || this.threshold < 0) throw new DistilleryTrainerError('ARGS_INVALID', `EarlyStoppingCallback.threshold must be a finite number >= 0, got ${JSON.stringify(this.threshold)}.`);
  }

  onTrainBegin: CallbackHook = (args) => {
    if (args.metricForBestModel === undefined) throw new DistilleryTrainerError('ARGS_INVALID', 'EarlyStoppingCallback needs TrainingArguments.metricForBestModel (e.g. "loss" or "accuracy") to know what to watch.');
    if (args.evalStrategy === 'no') throw new DistilleryTrainerError('ARGS_INVALID', 'EarlyStoppingCallback needs evaluations; set TrainingArguments.evalStrategy to "steps" or "epoch".');
    this.misses = 0;
  };

  onEvaluate: CallbackHook = (args, state, control, ctx) => {
    const key = args.metricForBestModel!.startsWith('eval_') ? args.metricForBestModel! : `eval_${args.metricForBestModel}`;
    const value = ctx.metrics?.[key];
    if (value === undefined) return;
    const better = state.bestMetric === null || (args.greaterIsBetter ? value - state.bestMetric > this.threshold : state.bestMetric - value > this.threshold);
    this.misses = better ? 0 : this.misses + 1;
    if (this.misses >= this.patience) control.shouldTrainingStop = true;
  };

  state(): { misses: number } {
    return { misses: this.misses };
  }

  restoreState(saved: unknown): void {
    const misses = (saved as { misses?: unknown } | null)?.misses;
    if (!Number.isInteger(misses) || (misses as number) < 0) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `trainer_state.json statefulCallbacks.${this.name} is ${JSON.stringify(saved)}, expected { "misses": <non-negative integer> }; the checkpoint is corrupt, resume from another one.`);
    this.misses = misses as number;
  }
}
