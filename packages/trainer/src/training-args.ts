/**
 * `TrainingArguments`: every knob of a run, with Hugging Face's defaults and names (camelCase),
 * validated up front so a typo or an impossible combination fails before any tensor exists.
 */
import { joinPath } from '@distillery/storage';
import { DistilleryTrainerError } from './errors.js';

export type LrSchedulerType = 'linear' | 'cosine' | 'constant' | 'constant_with_warmup';
export type IntervalStrategy = 'no' | 'steps' | 'epoch';
export type NanPolicy = 'skip' | 'abort';
export type ReportTarget = 'jsonl' | 'tensorboard';

export interface TrainingArgumentsInit {
  outputDir: string;
  numTrainEpochs?: number;
  /** > 0 overrides numTrainEpochs; -1 = derive from epochs (HF). */
  maxSteps?: number;
  perDeviceTrainBatchSize?: number;
  perDeviceEvalBatchSize?: number;
  gradientAccumulationSteps?: number;
  learningRate?: number;
  weightDecay?: number;
  adamBeta1?: number;
  adamBeta2?: number;
  adamEpsilon?: number;
  /** Global-norm clipping threshold; 0 disables clipping. */
  maxGradNorm?: number;
  lrSchedulerType?: LrSchedulerType;
  warmupSteps?: number;
  warmupRatio?: number;
  loggingStrategy?: IntervalStrategy;
  loggingSteps?: number;
  loggingFirstStep?: boolean;
  evalStrategy?: IntervalStrategy;
  /** Defaults to loggingSteps, as in HF. */
  evalSteps?: number;
  saveStrategy?: IntervalStrategy;
  saveSteps?: number;
  saveTotalLimit?: number;
  loadBestModelAtEnd?: boolean;
  metricForBestModel?: string;
  /** Defaults to true unless metricForBestModel ends in "loss". */
  greaterIsBetter?: boolean;
  seed?: number;
  dataloaderDropLast?: boolean;
  /** Batch examples of similar length together (HF's LengthGroupedSampler). */
  groupByLength?: boolean;
  /** What to do when a loss or gradient norm is NaN/Inf. */
  nanPolicy?: NanPolicy;
  /** Hide the progress bar. */
  disableTqdm?: boolean;
  /** Where logs go besides the history: a list of targets, or HF's keywords 'all' and 'none'. */
  reportTo?: readonly ReportTarget[] | 'all' | 'none';
  /** Let a command write into a non-empty outputDir (HF's overwrite_output_dir); the Trainer itself never refuses. */
  overwriteOutputDir?: boolean;
  /** TensorBoard event files go here (HF's logging_dir). Default `<outputDir>/runs`. */
  loggingDir?: string;
}

const DEFAULTS = {
  numTrainEpochs: 3,
  maxSteps: -1,
  perDeviceTrainBatchSize: 8,
  perDeviceEvalBatchSize: 8,
  gradientAccumulationSteps: 1,
  learningRate: 5e-5,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1.0,
  lrSchedulerType: 'linear' as LrSchedulerType,
  warmupSteps: 0,
  warmupRatio: 0,
  loggingStrategy: 'steps' as IntervalStrategy,
  loggingSteps: 500,
  loggingFirstStep: false,
  evalStrategy: 'no' as IntervalStrategy,
  saveStrategy: 'steps' as IntervalStrategy,
  saveSteps: 500,
  loadBestModelAtEnd: false,
  seed: 42,
  dataloaderDropLast: false,
  groupByLength: false,
  nanPolicy: 'skip' as NanPolicy,
  disableTqdm: false,
  reportTo: ['jsonl'] as readonly ReportTarget[],
  overwriteOutputDir: false,
};

const KNOWN = new Set<string>(['outputDir', 'loggingDir', 'evalSteps', 'saveTotalLimit', 'metricForBestModel', 'greaterIsBetter', ...Object.keys(DEFAULTS)]);
const REPORT_TARGETS: readonly ReportTarget[] = ['jsonl', 'tensorboard'];
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'list' : typeof v);
/**
 * The kind of every non-numeric field (its default's; numbers are left to their range checks,
 * whose messages carry the fix).
 */
const KINDS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(DEFAULTS).map(([k, v]) => [k, kindOf(v)]).filter(([, kind]) => kind !== 'number')),
  outputDir: 'string', loggingDir: 'string', metricForBestModel: 'string', greaterIsBetter: 'boolean',
};
const SCHEDULERS: readonly LrSchedulerType[] = ['linear', 'cosine', 'constant', 'constant_with_warmup'];
const STRATEGIES: readonly IntervalStrategy[] = ['no', 'steps', 'epoch'];

function invalid(field: string, message: string): never {
  throw new DistilleryTrainerError('ARGS_INVALID', `TrainingArguments.${field}: ${message}`);
}

/** A value as the user wrote it: a string keeps its quotes, so "5e-5" does not read as a number. */
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * Range checks test the type too (no coercion: "0.9" or null never pass as a number), and
 * integers must be exact (a step count beyond 2^53 would never be reached, or counted).
 */
function positiveInt(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 1) invalid(field, `must be a positive integer, got ${show(v)}; pass e.g. ${field}: 1.`);
}

function finiteAtLeast(field: string, v: number, min: number, hint: string): void {
  if (!Number.isFinite(v) || v < min) invalid(field, `must be a finite number >= ${min}, got ${show(v)}; ${hint}.`);
}

function oneOf<T extends string>(field: string, v: T, allowed: readonly T[]): void {
  if (!allowed.includes(v)) invalid(field, `"${v}" is not one of ${allowed.map((a) => `"${a}"`).join(', ')}.`);
}

export class TrainingArguments {
  readonly outputDir: string;
  readonly numTrainEpochs: number;
  readonly maxSteps: number;
  readonly perDeviceTrainBatchSize: number;
  readonly perDeviceEvalBatchSize: number;
  readonly gradientAccumulationSteps: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly adamBeta1: number;
  readonly adamBeta2: number;
  readonly adamEpsilon: number;
  readonly maxGradNorm: number;
  readonly lrSchedulerType: LrSchedulerType;
  readonly warmupSteps: number;
  readonly warmupRatio: number;
  readonly loggingStrategy: IntervalStrategy;
  readonly loggingSteps: number;
  readonly loggingFirstStep: boolean;
  readonly evalStrategy: IntervalStrategy;
  readonly evalSteps: number;
  readonly saveStrategy: IntervalStrategy;
  readonly saveSteps: number;
  readonly saveTotalLimit: number | undefined;
  readonly loadBestModelAtEnd: boolean;
  readonly metricForBestModel: string | undefined;
  readonly greaterIsBetter: boolean;
  readonly seed: number;
  readonly dataloaderDropLast: boolean;
  readonly groupByLength: boolean;
  readonly nanPolicy: NanPolicy;
  readonly disableTqdm: boolean;
  readonly reportTo: readonly ReportTarget[];
  readonly overwriteOutputDir: boolean;
  readonly loggingDir: string;

  constructor(init: TrainingArgumentsInit) {
    if (typeof init !== 'object' || init === null || Array.isArray(init)) {
      throw new DistilleryTrainerError('ARGS_INVALID', `TrainingArguments: expects an object of fields such as { outputDir: "runs/exp1", learningRate: 5e-5 }, got ${Array.isArray(init) ? 'a list' : show(init)}.`);
    }
    for (const key of Object.keys(init)) {
      if (!KNOWN.has(key)) invalid(key, `unknown field; the fields are ${[...KNOWN].sort().join(', ')}.`);
    }
    for (const [key, value] of Object.entries(init)) {
      // A value of the wrong kind is refused as a whole: "jsonl" for reportTo would otherwise be
      // read letter by letter, and "yes" for a switch would count as true.
      const want = KINDS[key];
      const keyword = key === 'reportTo' && (value === 'none' || value === 'all');
      if (!keyword && value !== undefined && want !== undefined && kindOf(value) !== want) invalid(key, `must be ${want === 'list' ? 'a list, e.g. ["jsonl"] or []' : want === 'boolean' ? 'true or false' : 'a string'}, got ${show(value)}.`);
      // An empty name or path is a slip (a blank YAML value, an unset variable), never a choice.
      if (want === 'string' && value === '') invalid(key, 'must not be empty.');
    }
    const a = { ...DEFAULTS, ...stripUndefined(init) };
    if (typeof a.outputDir !== 'string') invalid('outputDir', 'is required; pass the folder where checkpoints go, e.g. outputDir: "runs/exp1".');
    this.outputDir = a.outputDir;
    this.numTrainEpochs = a.numTrainEpochs;
    this.maxSteps = a.maxSteps;
    this.perDeviceTrainBatchSize = a.perDeviceTrainBatchSize;
    this.perDeviceEvalBatchSize = a.perDeviceEvalBatchSize;
    this.gradientAccumulationSteps = a.gradientAccumulationSteps;
    this.learningRate = a.learningRate;
    this.weightDecay = a.weightDecay;
    this.adamBeta1 = a.adamBeta1;
    this.adamBeta2 = a.adamBeta2;
    this.adamEpsilon = a.adamEpsilon;
    this.maxGradNorm = a.maxGradNorm;
    this.lrSchedulerType = a.lrSchedulerType;
    this.warmupSteps = a.warmupSteps;
    this.warmupRatio = a.warmupRatio;
    this.loggingStrategy = a.loggingStrategy;
    this.loggingSteps = a.loggingSteps;
    this.loggingFirstStep = a.loggingFirstStep;
    this.evalStrategy = a.evalStrategy;
    this.evalSteps = init.evalSteps ?? a.loggingSteps;
    this.saveStrategy = a.saveStrategy;
    this.saveSteps = a.saveSteps;
    this.saveTotalLimit = init.saveTotalLimit;
    this.loadBestModelAtEnd = a.loadBestModelAtEnd;
    this.metricForBestModel = init.metricForBestModel;
    this.greaterIsBetter = init.greaterIsBetter ?? !(init.metricForBestModel ?? '').endsWith('loss');
    this.seed = a.seed;
    this.dataloaderDropLast = a.dataloaderDropLast;
    this.groupByLength = a.groupByLength;
    this.nanPolicy = a.nanPolicy;
    this.disableTqdm = a.disableTqdm;
    this.reportTo = reportTargets(a.reportTo);
    this.overwriteOutputDir = a.overwriteOutputDir;
    this.loggingDir = init.loggingDir ?? joinPath(a.outputDir, 'runs');
    this.validate();
  }

  private validate(): void {
    if (!Number.isSafeInteger(this.maxSteps) || (this.maxSteps < 1 && this.maxSteps !== -1)) invalid('maxSteps', `must be -1 (use numTrainEpochs) or a positive integer, got ${show(this.maxSteps)}.`);
    // Checked even when maxSteps overrides it: a value of the wrong kind is a slip either way.
    if (!Number.isFinite(this.numTrainEpochs) || this.numTrainEpochs < 0 || (this.maxSteps === -1 && this.numTrainEpochs === 0)) invalid('numTrainEpochs', `must be a finite number > 0${this.maxSteps === -1 ? ' when maxSteps is -1' : ''}, got ${show(this.numTrainEpochs)}.`);
    positiveInt('perDeviceTrainBatchSize', this.perDeviceTrainBatchSize);
    positiveInt('perDeviceEvalBatchSize', this.perDeviceEvalBatchSize);
    positiveInt('gradientAccumulationSteps', this.gradientAccumulationSteps);
    finiteAtLeast('learningRate', this.learningRate, 0, 'a typical fine-tuning value is 5e-5');
    finiteAtLeast('weightDecay', this.weightDecay, 0, 'use 0 for none or e.g. 0.01');
    for (const f of ['adamBeta1', 'adamBeta2'] as const) {
      if (!(typeof this[f] === 'number' && this[f] >= 0 && this[f] < 1)) invalid(f, `must be a number in [0, 1), got ${show(this[f])}.`);
    }
    if (!(this.adamEpsilon > 0 && Number.isFinite(this.adamEpsilon))) invalid('adamEpsilon', `must be a number > 0, got ${show(this.adamEpsilon)}; the default is 1e-8.`);
    finiteAtLeast('maxGradNorm', this.maxGradNorm, 0, 'use 0 to disable clipping');
    oneOf('lrSchedulerType', this.lrSchedulerType, SCHEDULERS);
    if (!Number.isSafeInteger(this.warmupSteps) || this.warmupSteps < 0) invalid('warmupSteps', `must be an integer >= 0, got ${show(this.warmupSteps)}.`);
    if (!(typeof this.warmupRatio === 'number' && this.warmupRatio >= 0 && this.warmupRatio <= 1)) invalid('warmupRatio', `must be a number in [0, 1], got ${show(this.warmupRatio)}.`);
    oneOf('loggingStrategy', this.loggingStrategy, STRATEGIES);
    oneOf('evalStrategy', this.evalStrategy, STRATEGIES);
    oneOf('saveStrategy', this.saveStrategy, STRATEGIES);
    positiveInt('loggingSteps', this.loggingSteps);
    positiveInt('evalSteps', this.evalSteps);
    positiveInt('saveSteps', this.saveSteps);
    if (this.saveTotalLimit !== undefined) positiveInt('saveTotalLimit', this.saveTotalLimit);
    if (!Number.isSafeInteger(this.seed)) invalid('seed', `must be an integer, got ${show(this.seed)}.`);
    oneOf('nanPolicy', this.nanPolicy, ['skip', 'abort']);
    for (const r of this.reportTo) oneOf('reportTo', r, REPORT_TARGETS);
    if (this.loadBestModelAtEnd) {
      if (this.metricForBestModel === undefined) invalid('metricForBestModel', 'is required with loadBestModelAtEnd; name an eval metric, e.g. metricForBestModel: "accuracy" (or "loss").');
      if (this.evalStrategy === 'no') invalid('evalStrategy', 'is "no" but loadBestModelAtEnd needs evaluations; set evalStrategy to "steps" or "epoch".');
      if (this.saveStrategy !== this.evalStrategy) invalid('saveStrategy', `must match evalStrategy ("${this.evalStrategy}") with loadBestModelAtEnd, got "${this.saveStrategy}".`);
      if (this.evalStrategy === 'steps' && this.saveSteps % this.evalSteps !== 0) invalid('saveSteps', `must be a multiple of evalSteps (${this.evalSteps}) with loadBestModelAtEnd, got ${this.saveSteps}.`);
    }
  }

  /** Plain JSON copy (written next to checkpoints as training_args.json). */
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this));
  }
}

/** HF's `report_to` keywords as a list: 'none' → [], 'all' → every target (anything else is a list by now). */
function reportTargets(v: NonNullable<TrainingArgumentsInit['reportTo']>): readonly ReportTarget[] {
  if (v === 'none') return [];
  if (v === 'all') return REPORT_TARGETS;
  return v;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
