/**
 * Data files of the token-classification, question-answering and masked-LM tasks, read into
 * trainer examples with the task readers of `@distillery/trainer`, with the collator, the
 * metrics and the evaluation each task needs:
 * - token classification: JSONL / JSON rows `{"tokens": [...], "tags": [...]}` (IOB2 tags);
 *   seqeval entity precision / recall / F1 and token accuracy.
 * - question answering: SQuAD JSON (`{"data": [{"paragraphs": [{"context", "qas": [...]}]}]}`)
 *   or rows `{"id", "question", "context", "answers": {"text": [...], "answer_start": [...]}}`
 *   (the HF datasets layout); SQuAD exact match and F1 after best-span post-processing. With
 *   `version2WithNegative`, SQuAD v2: questions may have no answer (`is_impossible`, empty
 *   answers), predicted by the null score; exact / F1 with HasAns / NoAns splits.
 * - masked LM: plain text (`.txt`, a line per text) or rows `{"text"}`; masked 15% / 80-10-10
 *   while training, a fixed masking for the eval file; loss and perplexity.
 */
import { dirname, extname } from 'node:path';
import type { AnyModel, AutoTokenizer } from '@distillery/models';
import {
  DataCollatorForLanguageModeling, DataCollatorForQuestionAnswering, languageModelingExamples, maskedEvalExamples, perplexity, postprocessQaPredictions,
  questionAnsweringFeatures, squadMetrics, squadV2Metrics, tagSet, tokenClassificationExamples, tokenClassificationMetrics, Trainer,
  type DataCollator, type EvalPrediction, type Example, type QuestionAnsweringFeature, type SquadExample, type TokenClassificationRow,
} from '@distillery/trainer';
import { DEFAULT_MAX_LENGTH, type ConfigFields, type DataConfig } from '../config.js';
import { fail, readDataFiles, readRows, type Row } from '../data.js';
import { classificationMetrics, positionLimit, type Classifier } from '../models.js';
import { readTextFile } from '../text-file.js';
import { labelNames, type TaskName, type TaskOptions } from './task.js';

/** How errors name the data files (the config fields that give them). */
const DATA_FIELDS = 'data.train / data.eval';

/** The eval file's masking seed: every run and every model scores the same masked positions. */
const EVAL_MASK_SEED = 1234;

export interface TaskData {
  train?: Example[];
  /** The eval file's examples (question answering: its features, scored only by `evaluate`). */
  evalDataset?: Example[];
  /** The train rows carry the task's targets (tags, answers; masked LM makes its own). */
  labelled: boolean;
  dataCollator?: DataCollator<never, unknown>;
  computeMetrics?: (p: EvalPrediction) => Record<string, number>;
  /**
   * The eval file's metrics (`eval_*`) for `model`, scored by its own task loss (not a
   * distillation objective), when there is an eval file.
   */
  evaluate?: (model: AnyModel, batchSize?: number) => Promise<Record<string, number>>;
}

/** Token-classification rows of a file, checked: string tokens, one string tag each. */
export function readTokenRows(file: string): Array<TokenClassificationRow & { where: string }> {
  return readRows(file, DATA_FIELDS).map(({ where, value }) => {
    const { tokens, tags } = value;
    const strings = (v: unknown, key: string): string[] => {
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string' && x !== '')) fail(where, `${key} must be a non-empty list of non-empty strings, e.g. {"tokens": ["John", "lives", "here"], "tags": ["B-PER", "O", "O"]}.`);
      return v as string[];
    };
    const row = { where, tokens: strings(tokens, 'tokens'), tags: strings(tags, 'tags') };
    if (row.tokens.length !== row.tags.length) fail(where, `has ${row.tokens.length} tokens but ${row.tags.length} tags; give one tag per token.`);
    return row;
  });
}

/**
 * One SQuAD question, checked; `answers` in either the SQuAD or the HF datasets layout. SQuAD v2's
 * no-answer questions (`is_impossible: true`, or no answers in the HF layout) need `version2WithNegative`.
 */
function squadExample(where: string, v: Record<string, unknown>, context: unknown, version2WithNegative: boolean): SquadExample {
  const { id, question, answers, is_impossible: impossible } = v;
  if (typeof question !== 'string' || question.trim() === '') fail(where, 'question must be a non-empty string.');
  if (typeof context !== 'string' || context === '') fail(where, 'context must be a non-empty string.');
  const pairs: Array<[unknown, unknown]> = Array.isArray(answers)
    ? answers.map((a: { text?: unknown; answer_start?: unknown }) => [a?.text, a?.answer_start])
    : typeof answers === 'object' && answers !== null && Array.isArray((answers as { text?: unknown }).text)
      ? ((answers as { text: unknown[]; answer_start?: unknown[] }).text.map((t, i) => [t, (answers as { answer_start?: unknown[] }).answer_start?.[i]]))
      : answers === undefined ? [] : fail(where, 'answers must be a list of {"text", "answer_start"} or {"text": [...], "answer_start": [...]}.');
  if (impossible !== undefined && typeof impossible !== 'boolean') fail(where, `is_impossible must be true or false, got ${JSON.stringify(impossible)}.`);
  if (impossible === true && pairs.length > 0) fail(where, 'is_impossible is true but answers are given; SQuAD v2 leaves answers empty for a question with no answer (the spans go in plausible_answers).');
  if (impossible === true && !version2WithNegative) fail(where, `is_impossible: a SQuAD v2 question with no answer; ${V2_HINT}`);
  return {
    id: typeof id === 'string' || typeof id === 'number' ? String(id) : where,
    question,
    context,
    answers: pairs.map(([text, start], i) => {
      if (typeof text !== 'string' || !Number.isInteger(start) || context.slice(start as number, (start as number) + text.length) !== text) {
        fail(where, `answers[${i}]: ${JSON.stringify(text)} is not found at answer_start ${JSON.stringify(start)} of the context; answer_start counts characters from 0.`);
      }
      return { text, answerStart: start as number };
    }),
  };
}

const V2_HINT = 'set taskOptions.version2WithNegative: true (--version-2-with-negative) to train and score no-answer questions as SQuAD v2.';

/** SQuAD JSON (`data[].paragraphs[].qas[]`) or one question per row. */
export function readSquad(file: string, version2WithNegative = false): SquadExample[] {
  if (extname(file).toLowerCase() === '.json') {
    const text = readTextFile(file, { hint: DATA_FIELDS });
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      return fail(file, `not valid JSON (${(cause as Error).message}).`, cause);
    }
    if (typeof json === 'object' && json !== null && !Array.isArray(json) && 'data' in json) {
      const data = (json as { data: unknown }).data;
      if (!Array.isArray(data)) fail(file, 'data must be a list of articles {"paragraphs": [...]}, as SQuAD\'s files are.');
      return data.flatMap((article: { paragraphs?: unknown }, a) => {
        if (!Array.isArray(article?.paragraphs)) fail(`${file} data[${a}]`, 'paragraphs must be a list of {"context", "qas"}.');
        return (article.paragraphs as Array<{ context?: unknown; qas?: unknown }>).flatMap((p, pi) => {
          if (!Array.isArray(p?.qas)) fail(`${file} data[${a}].paragraphs[${pi}]`, 'qas must be a list of {"id", "question", "answers"}.');
          return (p.qas as Array<Record<string, unknown>>).map((q, qi) => squadExample(`${file} data[${a}].paragraphs[${pi}].qas[${qi}]`, q, p.context, version2WithNegative));
        });
      });
    }
  }
  return readRows(file, DATA_FIELDS).map(({ where, value }: Row) => squadExample(where, value, value.context, version2WithNegative));
}

/** Plain-text lines (`.txt`) or the `text` of each row. */
export function readTexts(file: string): string[] {
  if (extname(file).toLowerCase() === '.txt') {
    const lines = readTextFile(file, { hint: DATA_FIELDS }).split('\n').map((l) => l.trim()).filter(Boolean);
    if (lines.length === 0) fail(file, 'has no text; write one text per line.');
    return lines;
  }
  return readRows(file, DATA_FIELDS).map(({ where, value }) => (typeof value.text === 'string' ? value.text : fail(where, 'text must be a string; masked-LM rows are {"text": "..."} (or use a .txt file, a text per line).')));
}

/** The tags token-classification files use, sorted: a new model's label list. */
export function tagList(files: readonly string[]): string[] {
  return tagSet(files.flatMap((file) => readTokenRows(file)));
}

/**
 * Read `data` for `task` with `tokenizer` for `model` (the trained one: its labels, vocabulary and
 * positions set the limits).
 */
export function readTaskData(f: ConfigFields, task: Exclude<TaskName, 'sequence-classification'>, data: DataConfig, model: AnyModel, tokenizer: AutoTokenizer | undefined, options: TaskOptions): TaskData {
  if (tokenizer === undefined) f.fail('tokenizer', `is needed to read ${task} text; set tokenizer (--tokenizer) to a tokenizer folder or hub id.`);
  if (tokenizer.vocabSize > model.config.vocabSize) f.fail('tokenizer', `has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocabSize}; use the model's own tokenizer.`);
  const positions = positionLimit(model.config);
  const maxLength = data.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, positions);
  if (maxLength > positions) f.fail('data.maxLength', `is ${maxLength} but the model has positions for ${positions} tokens; lower it.`);
  const { train, eval: evalFile } = data;

  if (task === 'token-classification') {
    const labelList = labelNames(model.config.id2label);
    const read = (file: string): Example[] => {
      const rows = readTokenRows(file);
      return tokenClassificationExamples(rows, tokenizer, { labelList, maxLength, labelAllTokens: options.labelAllTokens, where: (i) => rows[i]!.where });
    };
    const metrics = tokenClassificationMetrics(labelList);
    const evalSet = evalFile === undefined ? undefined : read(evalFile);
    return {
      ...(train !== undefined && { train: read(train) }),
      labelled: true,
      computeMetrics: metrics,
      ...(evalSet && { evalDataset: evalSet, evaluate: (model, batchSize) => evaluateWith(model, evalFile!, batchSize, { computeMetrics: metrics }, evalSet) }),
    };
  }

  if (task === 'question-answering') {
    const docStride = options.docStride ?? Math.floor(maxLength / 4);
    const v2 = options.version2WithNegative;
    const read = (file: string) => {
      const examples = readSquad(file, v2);
      return { examples, features: questionAnsweringFeatures(examples, tokenizer, { maxLength, docStride }) };
    };
    const evalSet = evalFile === undefined ? undefined : read(evalFile);
    const unanswered = v2 ? undefined : evalSet?.examples.find((e) => e.answers.length === 0);
    // SQuAD v1 scores against gold answers: a question without one would count as wrong whatever the model says.
    if (unanswered) fail(`${evalFile} question ${unanswered.id}`, `has no answers; a SQuAD v1 eval question needs one, or ${V2_HINT}`);
    const trainSet = train === undefined ? undefined : read(train);
    return {
      ...(trainSet && { train: trainSet.features }),
      // SQuAD v2 labels every question (no answer: [CLS]); v1 rows without answers are a transfer set for distillation.
      labelled: v2 || (trainSet?.examples.every((e) => e.answers.length > 0) ?? true),
      dataCollator: new DataCollatorForQuestionAnswering({ ...(tokenizer.padTokenId !== undefined && { padTokenId: tokenizer.padTokenId }) }) as DataCollator<never, unknown>,
      ...(evalSet && {
        evalDataset: evalSet.features,
        evaluate: async (model, batchSize): Promise<Record<string, number>> => {
          const out = await evaluator(model, evalFile!, batchSize, {}).predict(evalSet.features as never, { metricKeyPrefix: 'eval' });
          const post = { version2WithNegative: v2, ...(options.nullScoreDiffThreshold !== undefined && { nullScoreDiffThreshold: options.nullScoreDiffThreshold }) };
          const answers = postprocessQaPredictions(evalSet.examples, evalSet.features as QuestionAnsweringFeature[], out.predictions as number[][][], post);
          const golds = evalSet.examples.map((e) => e.answers.map((a) => a.text));
          if (v2) return { ...Object.fromEntries(Object.entries(squadV2Metrics(answers, golds)).map(([k, v]) => [`eval_${k}`, v])), eval_runtime: out.metrics.eval_runtime! };
          const m = squadMetrics(answers, golds);
          return { eval_exact_match: m.exactMatch, eval_f1: m.f1, eval_runtime: out.metrics.eval_runtime! };
        },
      }),
    };
  }

  if (tokenizer.maskTokenId === undefined) f.fail('tokenizer', 'names no mask_token in tokenizer_config.json; masked LM needs one.');
  const specials = tokenizer.buildInputs([]).inputIds;
  const masking = { vocabSize: model.config.vocabSize, maskTokenId: tokenizer.maskTokenId, specialTokenIds: [...specials, ...(tokenizer.padTokenId !== undefined ? [tokenizer.padTokenId] : [])], mlmProbability: options.mlmProbability };
  const read = (file: string) => languageModelingExamples(readTexts(file), tokenizer, { maxLength });
  const collator = new DataCollatorForLanguageModeling({ ...masking, ...(tokenizer.padTokenId !== undefined && { padTokenId: tokenizer.padTokenId }) }) as DataCollator<never, unknown>;
  const evalSet = evalFile === undefined ? undefined : maskedEvalExamples(read(evalFile), { ...masking, seed: EVAL_MASK_SEED });
  return {
    ...(train !== undefined && { train: read(train) }),
    labelled: true,
    dataCollator: collator,
    ...(evalSet && {
      evalDataset: evalSet,
      evaluate: async (model, batchSize) => {
        const m = await evaluateWith(model, evalFile!, batchSize, { dataCollator: collator }, evalSet);
        return { ...m, eval_perplexity: perplexity(m.eval_loss!) };
      },
    }),
  };
}

/**
 * The data files of a command for any task (sequence classification through `readDataFiles`), checked against every model that reads them (`models`
 * by role, the trained one first: its head sets the labels).
 */
export function readCommandData(f: ConfigFields, task: TaskName, data: DataConfig, models: Record<string, AnyModel>, tokenizer: AutoTokenizer | undefined, options: TaskOptions): TaskData {
  const model = Object.values(models)[0]!;
  if (task !== 'sequence-classification') {
    return readTaskData(f, task, data, model, tokenizer, options);
  }
  const files = readDataFiles(f, data, models as Record<string, Classifier>, tokenizer);
  const evalSet = files.eval?.examples;
  return {
    ...(files.train && { train: files.train.examples }),
    labelled: files.train?.labelled ?? files.eval?.labelled ?? false,
    computeMetrics: classificationMetrics(model.config.numLabels),
    ...(evalSet && { evalDataset: evalSet, evaluate: (m, batchSize) => evaluateWith(m, data.eval!, batchSize, { computeMetrics: classificationMetrics(m.config.numLabels) }, evalSet) }),
  };
}

/** A plain Trainer that only scores `model` (outputDir is required by TrainingArguments but nothing is written). */
function evaluator(model: AnyModel, evalFile: string, batchSize = 32, extra: { dataCollator?: DataCollator<never, unknown>; computeMetrics?: (p: EvalPrediction) => Record<string, number> }): Trainer {
  return new Trainer({ model, args: { outputDir: dirname(evalFile), perDeviceEvalBatchSize: batchSize, reportTo: [], disableTqdm: true }, ...extra } as never) as Trainer;
}

/** `eval_*` metrics of `model` on `examples` (without the scoring trainer's own epoch 0). */
async function evaluateWith(model: AnyModel, evalFile: string, batchSize: number | undefined, extra: Parameters<typeof evaluator>[3], examples: readonly Example[]): Promise<Record<string, number>> {
  const { epoch: _epoch, ...metrics } = await evaluator(model, evalFile, batchSize, extra).evaluate(examples as never);
  return metrics;
}
