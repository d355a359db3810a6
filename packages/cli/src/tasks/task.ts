/**
 * `--task`: which head a command trains, distils or evaluates. Given, or inferred from the
 * model's `architectures[0]` (BertForTokenClassification → token-classification, …); a model
 * that names none is a sequence classifier, as before tasks existed. Task options live in
 * `taskOptions` (labels, labelAllTokens, docStride, version2WithNegative, nullScoreDiffThreshold, mlmProbability).
 */
import {
  AutoConfig, AutoModelForMaskedLM, AutoModelForQuestionAnswering, AutoModelForSequenceClassification, AutoModelForTokenClassification, withOverrides,
  type AnyModel, type ModelConfig,
} from '@distillery/models';
import type { ConfigFields, ModelSource, OverrideFlag } from '../config.js';

export const TASKS = ['sequence-classification', 'token-classification', 'question-answering', 'masked-lm'] as const;
export type TaskName = (typeof TASKS)[number];

export interface TaskOptions {
  /** Token classification: tag names in id order (default: the model's id2label, or the tags the train file uses, sorted). */
  labels?: string[];
  /** Token classification: label every sub-token of a word, not only the first. */
  labelAllTokens: boolean;
  /** Question answering: context tokens shared by neighbouring windows (default a quarter of maxLength). */
  docStride?: number;
  /** Question answering: SQuAD v2, questions may have no answer (HF's `version_2_with_negative`). */
  version2WithNegative: boolean;
  /** Question answering, SQuAD v2: predict no answer when the null score beats the best span by more (HF's `null_score_diff_threshold`, default 0). */
  nullScoreDiffThreshold?: number;
  /** Masked LM: share of tokens chosen for prediction. */
  mlmProbability: number;
}

export interface TaskConfig {
  /** Undefined: inferred from the model once it is known (`resolveTask`). */
  task?: TaskName;
  taskOptions: TaskOptions;
}

export const TASK_FLAGS: readonly OverrideFlag[] = [
  { flag: 'task', path: 'task', description: `${TASKS.join(' | ')} (default: from the model's architectures)` },
  { flag: 'version-2-with-negative', path: 'taskOptions.version2WithNegative', description: 'question answering: SQuAD v2, questions may have no answer', boolean: true },
  { flag: 'null-score-diff-threshold', path: 'taskOptions.nullScoreDiffThreshold', description: 'SQuAD v2: predict no answer when the null score beats the best span by more than this (default 0)' },
];

/** `task` and `taskOptions` of a command's config. */
export function parseTaskConfig(f: ConfigFields): TaskConfig {
  const task = f.optional(f.get('task'), 'task', (v, p) => f.choice(v, p, TASKS));
  const o = f.object(f.get('taskOptions') ?? {}, 'taskOptions');
  f.keys(o, 'taskOptions', ['labels', 'labelAllTokens', 'docStride', 'version2WithNegative', 'nullScoreDiffThreshold', 'mlmProbability']);
  const labels = f.optional(o.labels, 'taskOptions.labels', (v, p) => {
    if (!Array.isArray(v) || v.length === 0) f.fail(p, 'must be a non-empty list of tag names in label-id order, e.g. ["O", "B-PER", "I-PER"].');
    return v.map((x, i) => f.string(x, `${p}[${i}]`));
  });
  const docStride = f.optional(o.docStride, 'taskOptions.docStride', (v, p) => f.int(v, p, 0));
  const version2WithNegative = f.optional(o.version2WithNegative, 'taskOptions.version2WithNegative', (v, p) => f.boolean(v, p)) ?? false;
  const nullScoreDiffThreshold = f.optional(o.nullScoreDiffThreshold, 'taskOptions.nullScoreDiffThreshold', (v, p) => f.number(v, p));
  if (nullScoreDiffThreshold !== undefined && !version2WithNegative) f.fail('taskOptions.nullScoreDiffThreshold', 'only applies to SQuAD v2; also set taskOptions.version2WithNegative: true (--version-2-with-negative), or drop it.');
  const mlmProbability = f.optional(o.mlmProbability, 'taskOptions.mlmProbability', (v, p) => f.number(v, p, 0)) ?? 0.15;
  if (!(mlmProbability > 0 && mlmProbability < 1)) f.fail('taskOptions.mlmProbability', `must lie strictly between 0 and 1, got ${mlmProbability}.`);
  return {
    ...(task !== undefined && { task }),
    taskOptions: {
      ...(labels !== undefined && { labels }),
      labelAllTokens: f.optional(o.labelAllTokens, 'taskOptions.labelAllTokens', (v, p) => f.boolean(v, p)) ?? false,
      ...(docStride !== undefined && { docStride }),
      version2WithNegative,
      ...(nullScoreDiffThreshold !== undefined && { nullScoreDiffThreshold }),
      mlmProbability,
    },
  };
}

/** A classifier's label names in label-id order. */
export function labelNames(id2label: Readonly<Record<number, string>>): string[] {
  return Object.keys(id2label).sort((a, b) => Number(a) - Number(b)).map((i) => id2label[Number(i)]!);
}

const ARCHITECTURE_SUFFIX: ReadonlyArray<readonly [string, TaskName]> = [
  ['ForSequenceClassification', 'sequence-classification'],
  ['ForTokenClassification', 'token-classification'],
  ['ForQuestionAnswering', 'question-answering'],
  ['ForMaskedLM', 'masked-lm'],
];

/** The task given, else the one the model's config.json names, else sequence classification. */
export async function resolveTask(given: TaskName | undefined, model: ModelSource): Promise<TaskName> {
  if (given !== undefined) return given;
  const config = typeof model === 'string' ? await AutoConfig.fromPretrained(model) : model;
  const architecture = config.architectures?.[0] ?? '';
  return ARCHITECTURE_SUFFIX.find(([suffix]) => architecture.endsWith(suffix))?.[1] ?? 'sequence-classification';
}

const AUTO = {
  'sequence-classification': AutoModelForSequenceClassification,
  'token-classification': AutoModelForTokenClassification,
  'question-answering': AutoModelForQuestionAnswering,
  'masked-lm': AutoModelForMaskedLM,
} as const;

/**
 * The task's model from a folder / hub id (a new head where the checkpoint has none), or randomly
 * initialised from a config; `labels` sets a classifier's id2label (and its size).
 */
export async function loadTaskModel(task: TaskName, source: ModelSource, options: { seed: number; labels?: readonly string[]; numLabels?: number }): Promise<AnyModel> {
  const auto = AUTO[task];
  const overrides: Partial<ModelConfig> = options.labels
    ? { numLabels: options.labels.length, id2label: Object.fromEntries(options.labels.map((l, i) => [i, l])) }
    : options.numLabels !== undefined ? { numLabels: options.numLabels } : {};
  if (typeof source !== 'string') return auto.fromConfig(Object.keys(overrides).length > 0 ? withOverrides(source, overrides) : source, options.seed);
  return auto.fromPretrained(source, { seed: options.seed, log: (line) => console.error(line), ...(Object.keys(overrides).length > 0 && { config: overrides }) });
}
