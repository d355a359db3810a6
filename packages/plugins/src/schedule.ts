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

/** The values a numeric option (or every point of its schedule) may take. */
export interface OptionRange {
  min: number;
  /** `min` itself is refused (temperatures). */
  above?: true;
  max?: number;
}

/**
 * Loss weights: 0 switches a term off; a negative one would reward the student for diverging;
 * far above 1e6 the weighted loss and its gradients overflow float32 (every step skipped).
 */
export const WEIGHT_RANGE: OptionRange = { min: 0, max: 1e6 };
/** logitKd's alpha mixes the soft and hard terms: alpha and 1 − alpha are both weights. */
export const FRACTION_RANGE: OptionRange = { min: 0, max: 1 };
/**
 * Temperatures divide logits, and the soft loss is scaled by T²: far above 1000 every
 * distribution is uniform and T² · KL leaves float32's range.
 */
export const TEMPERATURE_RANGE: OptionRange = { min: 0, above: true, max: 1000 };

/** "in [0, 1]", "> 0", ... */
export function describeRange({ min, above, max }: OptionRange): string {
  return max !== undefined ? `in ${above ? '(' : '['}${min}, ${max}]` : above ? `> ${min}` : `>= ${min}`;
}

/** Whether `x` is a finite number within `range`. */
export function inRange(x: unknown, { min, above, max }: OptionRange): x is number {
  return typeof x === 'number' && Number.isFinite(x) && (above ? x > min : x >= min) && (max === undefined || x <= max);
}

/**
 * A plugin option that may be a schedule, checked at every point it can take (a linear schedule
 * only moves between its ends), so a bad value fails when the plugin is built, not at step 900.
 * `where` names it: `LogitKdPlugin.alpha`.
 */
export function checkSchedule(where: string, schedule: unknown, range: OptionRange): void {
  const bad = (at: string, v: unknown): never => {
    throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${at} must be ${describeRange(range)}, got ${JSON.stringify(v) ?? String(v)}.`);
  };
  if (typeof schedule !== 'object' || schedule === null) {
    if (!inRange(schedule, range)) bad(where, schedule);
    return;
  }
  const s = schedule as Record<string, unknown>;
  if (s.kind === 'constant') {
    if (!inRange(s.value, range)) bad(`${where}.value`, s.value);
    return;
  }
  if (s.kind !== 'linear') throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where} must be a number or a schedule { kind: "constant" | "linear", ... }, got ${JSON.stringify(schedule)}.`);
  for (const end of ['from', 'to'] as const) if (!inRange(s[end], range)) bad(`${where}.${end}`, s[end]);
  for (const step of ['startStep', 'endStep'] as const) {
    if (s[step] !== undefined && !(Number.isSafeInteger(s[step]) && (s[step] as number) >= 0)) bad(`${where}.${step}`, s[step]);
  }
}

/** A string option among `choices` (undefined: the default). */
export function checkChoice(where: string, value: unknown, choices: readonly string[]): void {
  if (value !== undefined && !choices.includes(value as string)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where} must be one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${JSON.stringify(value) ?? String(value)}.`);
}
