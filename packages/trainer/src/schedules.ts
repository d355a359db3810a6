/**
 * Learning-rate schedules with HF's lambda formulas (transformers.optimization): the rate at
 * optimizer step t (0-based) is baseLr · λ(t), and warmup is linear from 0.
 */
import { DistilleryTrainerError } from './errors.js';
import type { LrSchedulerType } from './training-args.js';

export function lrLambda(type: LrSchedulerType, step: number, warmupSteps: number, totalSteps: number): number {
  if (type === 'constant') return 1;
  if (step < warmupSteps) return step / Math.max(1, warmupSteps);
  if (type === 'constant_with_warmup') return 1;
  const remaining = Math.max(1, totalSteps - warmupSteps);
  if (type === 'linear') return Math.max(0, (totalSteps - step) / remaining);
  // cosine with HF's default numCycles 0.5: one half-wave from 1 to 0.
  const progress = (step - warmupSteps) / remaining;
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress)));
}

/** HF: warmupSteps wins when > 0, else ceil(warmupRatio · totalSteps). */
export function resolveWarmupSteps(warmupSteps: number, warmupRatio: number, totalSteps: number): number {
  return warmupSteps > 0 ? warmupSteps : Math.ceil(warmupRatio * totalSteps);
}

export interface LrSchedulerState {
  type: LrSchedulerType;
  baseLr: number;
  warmupSteps: number;
  totalSteps: number;
  lastStep: number;
}

/** A LambdaLR: `lr()` is the rate for the next optimizer step, `step()` advances it. */
export class LrScheduler {
  private lastStep = 0;
  constructor(
    readonly type: LrSchedulerType,
    readonly baseLr: number,
    readonly warmupSteps: number,
    readonly totalSteps: number,
  ) {}

  lr(): number {
    return this.baseLr * lrLambda(this.type, this.lastStep, this.warmupSteps, this.totalSteps);
  }

  step(): void {
    this.lastStep += 1;
  }

  stateDict(): LrSchedulerState {
    return { type: this.type, baseLr: this.baseLr, warmupSteps: this.warmupSteps, totalSteps: this.totalSteps, lastStep: this.lastStep };
  }

  /** Throw (CHECKPOINT_INVALID) unless `state` belongs to this run's schedule; touches nothing. */
  checkStateDict(state: LrSchedulerState): void {
    if (state.type !== this.type || state.totalSteps !== this.totalSteps || state.warmupSteps !== this.warmupSteps || state.baseLr !== this.baseLr) {
      throw new DistilleryTrainerError('CHECKPOINT_INVALID', `scheduler.json (${state.type}, baseLr ${state.baseLr}, warmup ${state.warmupSteps}, total ${state.totalSteps}) does not match this run (${this.type}, ${this.baseLr}, ${this.warmupSteps}, ${this.totalSteps}); resume with the TrainingArguments of the interrupted run.`);
    }
    if (!Number.isInteger(state.lastStep) || state.lastStep < 0) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `scheduler.json: lastStep must be an integer >= 0, got ${state.lastStep}.`);
  }

  loadStateDict(state: LrSchedulerState): void {
    this.checkStateDict(state);
    this.lastStep = state.lastStep;
  }
}
