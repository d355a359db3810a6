/**
 * The distillation objective, apart from any training loop: frozen teachers, the plugins'
 * requests merged into one forward per model, and `Σ weight · term` with every term kept
 * for logging. `DistillationTrainer` drives it; tests and custom loops can too.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from './errors.js';
import type { DistillOutputs, LossPlugin, ModelShape, OutputRequest, ParameterSource, Progress } from './plugin.js';
import { WEIGHT_RANGE, checkSchedule, scheduleValue } from './schedule.js';
import { TeacherCache, type TeacherCacheOptions } from './teacher-cache.js';
import { checkLabels } from './labels.js';
import { checkVocab } from './vocab.js';
import { CrossTokenizerTeacher } from './cross-tokenizer.js';

/** A batch as the models take it (docs/design.md `ModelInputs`). */
export interface DistillBatch {
  inputIds: tf.Tensor2D;
  attentionMask?: tf.Tensor2D;
  tokenTypeIds?: tf.Tensor2D;
  labels?: tf.Tensor;
  /** Each row's raw text, when the examples kept it: teachers with their own tokenizer encode it. */
  texts?: readonly string[];
  /** Each row's second text (sentence pairs), undefined for a row without one; present only with `texts`. */
  textPairs?: readonly (string | undefined)[];
}

export interface DistillForwardOptions {
  training: boolean;
  seed?: number;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  outputAttentionScores?: boolean;
}

/** Any `@distillery/models` class, structurally. */
export interface DistillModel extends ParameterSource {
  forward(inputs: DistillBatch, options: DistillForwardOptions): DistillOutputs & { loss?: tf.Scalar };
  /** Layers, width and heads when known without a forward (else probed). */
  readonly modelShape?: ModelShape;
  /** A teacher that can serve only some outputs (a cache, an ONNX graph) throws here, naming the fix, for what it cannot. */
  checkServes?(request: OutputRequest): void;
}

export interface DistillationOptions {
  /** Relative weights of several teachers' soft labels (normalised to sum 1). Default equal. */
  teacherWeights?: readonly number[];
  /** Reuse teacher outputs across epochs (memory by default, `dir` for disk). Default off. */
  teacherCache?: TeacherCacheOptions | TeacherCache | false;
  /** Seeds the plugins' projections. Default 42. */
  seed?: number;
}

export interface ObjectiveResult {
  /** `Σ weight · term`. */
  loss: tf.Scalar;
  /** Unweighted terms, keyed `loss/<plugin>` and `loss/<plugin>/<part>`. */
  terms: Map<string, tf.Scalar>;
  student: DistillOutputs & { loss?: tf.Scalar };
}

/** What a forward must return to satisfy `request`. */
function forwardFlags(request: OutputRequest): Pick<DistillForwardOptions, 'outputHiddenStates' | 'outputAttentions' | 'outputAttentionScores'> {
  return { outputHiddenStates: request.hiddenStates ?? false, outputAttentions: request.attentions ?? false, outputAttentionScores: request.attentionScores ?? false };
}

/** The union of the outputs `plugins` ask for at `progress` (what a teacher, or its cache, must serve). */
export function outputRequest(plugins: readonly LossPlugin[], progress: Progress): OutputRequest {
  const merged: OutputRequest = { logits: true };
  for (const p of plugins) {
    const r = p.requires(progress);
    merged.hiddenStates ||= r.hiddenStates;
    merged.attentions ||= r.attentions;
    merged.attentionScores ||= r.attentionScores;
    merged.pooledOutput ||= r.pooledOutput;
  }
  return merged;
}

/** Layers, width and heads, read off a two-token forward so any family (and any config spelling) works. */
export function probeShape(model: DistillModel): ModelShape {
  // A stand-in without weights (CachedTeacher) knows its shape but cannot run a probe.
  if (model.modelShape) return model.modelShape;
  return tf.tidy(() => {
    const out = model.forward({ inputIds: tf.tensor2d([[1, 2]], [1, 2], 'int32') }, { training: false, outputHiddenStates: true, outputAttentions: true });
    const hidden = out.hiddenStates;
    const attentions = out.attentions;
    if (!hidden?.length || !attentions?.length) throw new DistilleryPluginsError('OUTPUT_MISSING', 'model.forward ignored outputHiddenStates/outputAttentions; distillation needs a model that returns them (any @distillery/models class does).');
    return { numLayers: hidden.length - 1, hiddenSize: hidden[hidden.length - 1]!.shape[2], numHeads: attentions[0]!.shape[1] };
  });
}

export class DistillationObjective {
  readonly teachers: readonly DistillModel[];
  readonly teacherWeights: readonly number[];
  readonly cache?: TeacherCache;
  private readonly seed: number;
  private studentShape?: ModelShape;

  constructor(
    readonly plugins: readonly LossPlugin[],
    teachers: DistillModel | readonly DistillModel[],
    options: DistillationOptions = {},
  ) {
    requireLossPlugins(plugins, 'DistillationObjective: plugins');
    this.teachers = Array.isArray(teachers) ? teachers : [teachers as DistillModel];
    if (this.teachers.length === 0) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'distillation needs at least one teacher model.');
    requireTeachers(teachers, 'DistillationObjective: teachers');
    if (plugins.length === 0) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `no loss plugin registered; register at least one under LOSS_PLUGIN (e.g. new LogitKdPlugin()).`);
    const names = plugins.map((p) => p.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `two loss plugins are named "${dup}"; give each a unique name option (it keys logs and checkpoints).`);
    const raw = options.teacherWeights ?? this.teachers.map(() => 1);
    if (raw.length !== this.teachers.length || raw.some((w) => !(w >= 0)) || !(raw.reduce((a, b) => a + b, 0) > 0)) {
      throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `teacherWeights [${raw.join(', ')}] must hold one non-negative weight per teacher (${this.teachers.length}), not all zero.`);
    }
    const sum = raw.reduce((a, b) => a + b, 0);
    this.teacherWeights = raw.map((w) => w / sum);
    if (options.teacherCache) this.cache = options.teacherCache instanceof TeacherCache ? options.teacherCache : new TeacherCache(options.teacherCache);
    this.seed = options.seed ?? 42;
  }

  /** Check the pair, learn the shapes and let plugins build maps and projections. Call once. */
  setup(student: DistillModel): void {
    // A teacher with its own tokenizer reads the raw text, not the student's ids.
    for (const teacher of this.teachers) if (!(teacher instanceof CrossTokenizerTeacher)) checkVocab(student, teacher);
    // Label sets matter only where logits are compared (hidden-state-only distillation may pair any heads).
    if (this.plugins.some((p) => p.requires({ step: 0, maxSteps: 1 }).logits)) for (const teacher of this.teachers) checkLabels(student, teacher);
    for (const teacher of this.teachers) teacher.checkServes?.(this.request({ step: 0, maxSteps: 1 }));
    this.studentShape = probeShape(student);
    // Only plugins with a setup read the teacher's layers; a logits-only teacher (ONNX) is probed
    // only then, and refuses there with its own message.
    const teacherShape = this.plugins.some((p) => p.setup) ? probeShape(this.teachers[0]!) : undefined;
    this.plugins.forEach((p, i) => p.setup?.({ student: this.studentShape!, teacher: teacherShape!, seed: this.seed + 101 * i }));
    const seen = new Set<string>();
    for (const name of this.variables(false).keys()) {
      if (seen.has(name)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `two plugins own a variable named "${name}"; rename one plugin.`);
      seen.add(name);
    }
  }

  get isSetUp(): boolean {
    return this.studentShape !== undefined;
  }

  /** Trainable variables the plugins own (projections), by checkpoint name. */
  variables(strict = true): Map<string, tf.Variable> {
    if (strict && !this.isSetUp) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'call setup(student) before asking for the plugins\' variables.');
    return new Map(this.plugins.flatMap((p) => [...(p.variables?.() ?? [])]));
  }

  /** The union of what the plugins need now. */
  request(progress: Progress): OutputRequest {
    return outputRequest(this.plugins, progress);
  }

  /**
   * Every teacher's outputs for the batch, in eval mode. Call this outside the gradient tape:
   * nothing here is recorded for backprop, and the caller owns (disposes) the tensors.
   */
  teacherOutputs(batch: DistillBatch, progress: Progress): DistillOutputs[] {
    const request = this.request(progress);
    return this.teachers.map((teacher, k) => {
      const keys = this.cache ? TeacherCache.rowKeys(k, batch.inputIds, batch.attentionMask, batch.tokenTypeIds) : undefined;
      const cached = keys && this.cache!.lookup(keys, request);
      if (cached) return cached;
      const out = tf.tidy(() => {
        const o = teacher.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds, ...(batch.texts && { texts: batch.texts, ...(batch.textPairs && { textPairs: batch.textPairs }) }) }, { training: false, ...forwardFlags(request) });
        // Only what was asked for survives the tidy.
        return { logits: o.logits, hiddenStates: o.hiddenStates, attentions: o.attentions, attentionScores: o.attentionScores, pooledOutput: request.pooledOutput ? o.pooledOutput : undefined } as unknown as tf.TensorContainer;
      }) as unknown as DistillOutputs;
      if (keys) this.cache!.store(keys, out);
      return out;
    });
  }

  /**
   * The student's forward and the weighted loss. Runs inside the caller's gradient tape;
   * the teacher outputs come in precomputed, so no teacher op is taped.
   */
  compute(student: DistillModel, batch: DistillBatch, teachers: readonly DistillOutputs[], progress: Progress, forward: { training: boolean; seed?: number }): ObjectiveResult {
    if (!this.isSetUp) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', 'call setup(student) before computing the distillation loss.');
    const out = student.forward(batch, { ...forward, ...forwardFlags(this.request(progress)) });
    const attentionMask = (batch.attentionMask ?? tf.onesLike(batch.inputIds)) as tf.Tensor2D;
    const terms = new Map<string, tf.Scalar>();
    const weighted: tf.Scalar[] = [];
    for (const plugin of this.plugins) {
      const weight = scheduleValue(plugin.weight, progress.step, progress.maxSteps);
      const value = plugin.compute({
        ...progress,
        student: out,
        teacher: teachers[0]!,
        teachers,
        teacherWeights: this.teacherWeights,
        attentionMask,
        labels: batch.labels,
        studentModel: student,
        teacherModels: this.teachers,
        report: (name, v) => terms.set(`loss/${plugin.name}/${name}`, v),
      });
      if (value.rank !== 0) throw new DistilleryPluginsError('SHAPE_MISMATCH', `plugin "${plugin.name}" returned a tensor of shape [${value.shape.join(', ')}]; compute() must return a scalar.`);
      terms.set(`loss/${plugin.name}`, value);
      weighted.push(tf.mul(value, weight));
    }
    return { loss: tf.addN(weighted) as tf.Scalar, terms, student: out };
  }

  dispose(): void {
    for (const p of this.plugins) p.dispose?.();
  }
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v);

/** Each teacher a model with forward() (or a teacher cache); `where` names the argument (`options.teacher`). */
export function requireTeachers(teachers: unknown, where: string): void {
  const list: unknown[] = Array.isArray(teachers) ? teachers : [teachers];
  list.forEach((t, i) => {
    if (typeof (t as { forward?: unknown } | null)?.forward !== 'function') {
      throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where}${Array.isArray(teachers) ? `[${i}]` : ''} must be a model with forward() (e.g. from AutoModelForSequenceClassification.fromPretrained) or a TeacherCache, got ${kindOf(t)}.`);
    }
  });
}

/** A list of LossPlugin objects; `where` names the argument (`options.plugins`). */
export function requireLossPlugins(plugins: unknown, where: string): void {
  if (!Array.isArray(plugins)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where} must be a list of loss plugins, e.g. [new LogitKdPlugin()], got ${kindOf(plugins)}.`);
  plugins.forEach((p: unknown, i) => {
    const plugin = p as Partial<LossPlugin> | null;
    if (typeof plugin?.compute !== 'function' || typeof plugin.requires !== 'function' || typeof plugin.name !== 'string') {
      throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where}[${i}] must be a LossPlugin (name, weight, requires(), compute()), e.g. new LogitKdPlugin(); got ${kindOf(p)}.`);
    }
    // A plugin of the user's own has its weight checked like a built-in one's.
    checkSchedule(`${where}[${i}] ("${plugin.name}").weight`, plugin.weight, WEIGHT_RANGE);
  });
}
