/**
 * Callbacks: optional async hooks with one signature `(args, state, control, ctx)`, awaited in
 * order by the `CallbackHandler`, which also resets `TrainerControl` flags as HF does and mirrors
 * every hook on a typed eventemitter3 for passive listeners (`trainer.events.on('log', ...)`).
 */
import { EventEmitter } from 'eventemitter3';
import { DistilleryTrainerError } from '../errors.js';
import type { TrainableModel } from '../model.js';
import type { Optimizer } from '../optimizer.js';
import type { LrScheduler } from '../schedules.js';
import type { TrainerControl, TrainerState } from '../state.js';
import type { TrainingArguments } from '../training-args.js';

export interface CallbackContext {
  model: TrainableModel;
  optimizer: Optimizer;
  /** Created when training starts (it needs the step count); absent in onInitEnd and outside train(). */
  lrScheduler?: LrScheduler;
  /** onLog: the values just logged. */
  logs?: Record<string, number>;
  /** onEvaluate / onPredict: the metrics just computed. */
  metrics?: Record<string, number>;
  /** onSave: the checkpoint folder just written. */
  checkpointDir?: string;
  /** onException: what was thrown. */
  error?: unknown;
}

export const HOOK_NAMES = [
  'onInitEnd',
  'onTrainBegin',
  'onTrainEnd',
  'onEpochBegin',
  'onEpochEnd',
  'onStepBegin',
  'onSubstepEnd',
  'onBeforeBackward',
  'onBeforeOptimizerStep',
  'onOptimizerStep',
  'onStepEnd',
  'onEvaluate',
  'onPredict',
  'onSave',
  'onLog',
  'onException',
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export type CallbackHook = (args: TrainingArguments, state: TrainerState, control: TrainerControl, ctx: CallbackContext) => void | Promise<void>;

/**
 * A callback with memory across steps (e.g. a patience counter) implements `state()` (plain JSON)
 * and `restoreState()`; the trainer saves it in trainer_state.json and restores it on resume.
 */
export interface StatefulCallback {
  state?(): unknown;
  restoreState?(state: unknown): void;
}

export type TrainerCallback = { readonly name?: string } & StatefulCallback & { [K in HookName]?: CallbackHook };

/** Event name of a hook: onStepEnd → stepEnd. */
export type TrainerEventName<K extends HookName = HookName> = K extends `on${infer R}` ? Uncapitalize<R> : never;
export interface TrainerEventPayload extends CallbackContext {
  args: TrainingArguments;
  state: TrainerState;
  control: TrainerControl;
}
export type TrainerEvents = { [K in HookName as TrainerEventName<K>]: (payload: TrainerEventPayload) => void };

function eventName<K extends HookName>(hook: K): TrainerEventName<K> {
  return (hook.charAt(2).toLowerCase() + hook.slice(3)) as TrainerEventName<K>;
}

/** Flags HF clears right before the hook that consumes them, so a callback can set them again. */
const RESETS: Partial<Record<HookName, readonly (keyof TrainerControl)[]>> = {
  onTrainBegin: ['shouldTrainingStop'],
  onEpochBegin: ['shouldEpochStop'],
  onStepBegin: ['shouldLog', 'shouldEvaluate', 'shouldSave'],
  onLog: ['shouldLog'],
  onEvaluate: ['shouldEvaluate'],
  onSave: ['shouldSave'],
};

function callbackKey(cb: TrainerCallback): string {
  return cb.name ?? cb.constructor.name;
}

export class CallbackHandler {
  readonly events = new EventEmitter<TrainerEvents>();
  private readonly callbacks: TrainerCallback[] = [];

  constructor(callbacks: readonly TrainerCallback[] = []) {
    for (const cb of callbacks) this.add(cb);
  }

  add(callback: TrainerCallback): void {
    this.callbacks.push(callback);
  }

  remove(callback: TrainerCallback): void {
    const i = this.callbacks.indexOf(callback);
    if (i >= 0) this.callbacks.splice(i, 1);
  }

  get list(): readonly TrainerCallback[] {
    return this.callbacks;
  }

  /** Every stateful callback's `state()`, keyed by its name (class name when it has none). */
  states(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const cb of this.callbacks) {
      if (!cb.state) continue;
      const key = callbackKey(cb);
      if (key in out) throw new DistilleryTrainerError('ARGS_INVALID', `two stateful callbacks are named "${key}", so their saved states would collide; give each a distinct \`name\`.`);
      out[key] = cb.state();
    }
    return out;
  }

  /** Hand each stateful callback its saved state; callbacks absent from `saved` keep their own. */
  restoreStates(saved: Record<string, unknown>): void {
    for (const cb of this.callbacks) {
      const key = callbackKey(cb);
      if (cb.restoreState && key in saved) cb.restoreState(saved[key]);
    }
  }

  async call(hook: HookName, args: TrainingArguments, state: TrainerState, control: TrainerControl, ctx: CallbackContext): Promise<void> {
    for (const flag of RESETS[hook] ?? []) control[flag] = false;
    for (const cb of this.callbacks) await cb[hook]?.(args, state, control, ctx);
    // Cast: eventemitter3 cannot narrow a union of event names to one listener signature.
    (this.events.emit as (event: string, payload: TrainerEventPayload) => boolean)(eventName(hook), { ...ctx, args, state, control });
  }
}
