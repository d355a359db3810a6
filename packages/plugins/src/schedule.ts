/**
 * Values that change over training: loss weights and the KD temperature.
 * `linear` goes from `from` to `to` between `startStep` and `endStep` (default: the whole
 * run), covering both decay (from > to) and growth (from < to); it holds its ends outside.
 */
import { DistilleryPluginsError } from './errors.js';

export type Schedule =
  | number
  | { kind: 'constant'; value: number }
  | { kind: 'linear'; from: number; to: number; startStep?: number; endStep?: number };

/** The value at optimizer step `step` of a run of `maxSteps` steps. */
export function scheduleValue(schedule: Schedule, step: number, maxSteps: number): number {
  if (typeof schedule === 'number') return schedule;
  if (schedule.kind === 'constant') return schedule.value;
  const start = schedule.startStep ?? 0;
  const end = schedule.endStep ?? maxSteps;
  if (!(end > start)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `linear schedule: endStep (${end}) must be greater than startStep (${start}).`);
  const progress = Math.min(Math.max((step - start) / (end - start), 0), 1);
  return schedule.from + (schedule.to - schedule.from) * progress;
}
