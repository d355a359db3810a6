/**
 * The loss-plugin contract. A `DistillationTrainer` collects every class registered under
 * `LOSS_PLUGIN` (tsyringe `@injectAll`), asks each what it needs, runs the teacher and the
 * student once with the union of those outputs, and sums `weight · compute(ctx)`.
 */
import type * as tf from '@tensorflow/tfjs';
import type { InjectionToken } from 'tsyringe';
import { DistilleryPluginsError } from './errors.js';
import type { Schedule } from './schedule.js';

/** Model outputs a plugin can ask for (ModelOutput fields in docs/design.md). */
export interface OutputRequest {
  logits?: boolean;
  hiddenStates?: boolean;
  attentions?: boolean;
  attentionScores?: boolean;
  /** `tanh(pooler(h[:, 0]))`; only models with a pooler have it (not DistilBERT). */
  pooledOutput?: boolean;
}

/** The outputs a forward returned; optional ones are present when some plugin asked. */
export interface DistillOutputs {
  logits: tf.Tensor;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
  attentionScores?: tf.Tensor4D[];
  /** `[B, H]` pooler output. */
  pooledOutput?: tf.Tensor2D;
}

/** The outputs a plugin must ask for in `requires()` before it may read them. */
export type OptionalOutput = Exclude<keyof DistillOutputs, 'logits'>;

const PRODUCED_BY: Record<OptionalOutput, string> = {
  hiddenStates: 'its forward must honour outputHiddenStates',
  attentions: 'its forward must honour outputAttentions',
  attentionScores: 'its forward must honour outputAttentionScores',
  pooledOutput: 'only models with a pooler produce it (DistilBERT has none)',
};

/**
 * An output the plugin asked for, typed as present, or a typed error naming what is missing:
 * `requireOutput(ctx.student, 'hiddenStates')` instead of `ctx.student.hiddenStates!`.
 */
export function requireOutput<K extends OptionalOutput>(
  outputs: DistillOutputs,
  key: K,
  where: { model?: string; plugin?: string } = {},
): NonNullable<DistillOutputs[K]> {
  const value = outputs[key];
  if (value === undefined) {
    const who = `${where.plugin === undefined ? '' : `plugin "${where.plugin}": `}the ${where.model ?? 'model'}`;
    throw new DistilleryPluginsError('OUTPUT_MISSING', `${who} returned no ${key}; list ${key} in the plugin's requires(), and ${PRODUCED_BY[key]}.`);
  }
  return value as NonNullable<DistillOutputs[K]>;
}

/** What a plugin may know about a model before training (from a probe forward and its config). */
export interface ModelShape {
  /** Transformer layers: `hiddenStates` has `numLayers + 1` entries. */
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
}

/** Where the run is, for schedules. */
export interface Progress {
  step: number;
  maxSteps: number;
}

/** The student's and teacher's shapes alone (known from their configs before weights load). */
export type ShapeContext = Pick<SetupContext, 'student' | 'teacher'>;

/** Given once, before the first step: plugins build layer maps and projections here. */
export interface SetupContext {
  student: ModelShape;
  teacher: ModelShape;
  /** Seed for any variables the plugin creates (projections). */
  seed: number;
}

/** Any model whose parameters a plugin may read (MiniLM reads value projections). */
export interface ParameterSource {
  namedParameters(): Map<string, tf.Variable>;
  readonly config?: unknown;
}

export interface LossContext extends Progress {
  student: DistillOutputs;
  /** The primary teacher (the first); intermediate-layer plugins read this one. */
  teacher: DistillOutputs;
  /** Every teacher, for soft-label averaging. */
  teachers: readonly DistillOutputs[];
  /** Relative teacher weights summing to 1, parallel to `teachers`. */
  teacherWeights: readonly number[];
  /** `[B, S]` padding mask of the batch (all ones when the batch has none). */
  attentionMask: tf.Tensor2D;
  labels?: tf.Tensor;
  studentModel: ParameterSource;
  teacherModels: readonly ParameterSource[];
  /** Record a named sub-term (logged as `<plugin>/<name>`); the value is read after the step. */
  report(name: string, value: tf.Scalar): void;
}

export interface LossPlugin {
  /** Unique per trainer; names the logged term (`loss/<name>`) and owned variables. */
  readonly name: string;
  /** Multiplier of this plugin's term; may change over training. */
  readonly weight: Schedule;
  /** Outputs needed from teacher and student at this point of training. */
  requires(progress: Progress): OutputRequest;
  /** Called once before training, with the models' shapes. */
  setup?(ctx: SetupContext): void;
  /**
   * Refuse options these models cannot serve (a layer map beyond their layers), creating
   * nothing: a caller that knows the shapes from the configs runs it before any weights load.
   * `setup` refuses the same. Messages start with the option at fault (`layerMap: ...`).
   */
  checkShapes?(ctx: ShapeContext): void;
  /** Trainable variables the plugin owns (projections), keyed by checkpoint name. */
  variables?(): Map<string, tf.Variable>;
  /** The unweighted loss term. Called inside the student's gradient tape. */
  compute(ctx: LossContext): tf.Scalar;
  dispose?(): void;
}

/** Register plugins under this token; the trainer resolves them with `@injectAll(LOSS_PLUGIN)`. */
export const LOSS_PLUGIN: InjectionToken<LossPlugin> = Symbol.for('distillery.LossPlugin');
