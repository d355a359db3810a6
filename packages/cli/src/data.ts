/**
 * Dataset files of the CLI: JSONL (a row a line) or a JSON array. A row is `{text, label}`
 * (`textPair` too for sentence pairs), tokenized here, or pre-tokenized `{inputIds, label,
 * attentionMask?, tokenTypeIds?}`. Other keys are ignored. Every problem is reported by file
 * and line with the fix, before a tensor exists.
 */
import { extname } from 'node:path';
import type { AutoTokenizer } from '@distillery/models';
import type { Example } from '@distillery/trainer';
import { DistilleryCliError } from './errors.js';
import { DEFAULT_MAX_LENGTH, type ConfigFields, type DataConfig } from './config.js';
import { limitsConfig, tokenLimits, type Classifier, type TokenLimits } from './models.js';
import type { OnnxTeacherLike } from './onnx.js';
import { readTextFile } from './text-file.js';

export interface ReadExamplesOptions {
  /** Needed when rows carry text. */
  tokenizer?: AutoTokenizer;
  /** Texts are cut to this many tokens; pre-tokenized rows may not exceed it. */
  maxLength: number;
  /** 1 = regression (float labels), else class ids in [0, numLabels). */
  numLabels: number;
  /** Every model that will read the rows (student and teachers): ids, token types and lengths must fit each. */
  limits: readonly TokenLimits[];
}

export interface ExamplesFile {
  examples: Example[];
  /** Every row has a label (rows are all labelled or all unlabelled). */
  labelled: boolean;
}

export interface Row {
  where: string;
  value: Record<string, unknown>;
}

/** A row to tokenize, and where its example goes. */
interface TextRow {
  row: Row;
  index: number;
  text: string;
  pair?: string;
}

export function fail(where: string, message: string, cause?: unknown): never {
  throw new DistilleryCliError('DATA_INVALID', `${where}: ${message}`, { cause });
}

/** The file's rows, each with its address (`file line N` / `file [i]`); `field` is how the user named the file. */
export function readRows(file: string, field: string): Row[] {
  const text = readTextFile(file, { hint: field });
  const parse = (json: string, where: string): unknown => {
    try {
      return JSON.parse(json) as unknown;
    } catch (cause) {
      return fail(where, `not valid JSON (${(cause as Error).message}).`, cause);
    }
  };
  const values: Array<{ where: string; value: unknown }> = [];
  if (extname(file).toLowerCase() === '.jsonl') {
    text.split('\n').forEach((line, i) => {
      if (line.trim() !== '') values.push({ where: `${file} line ${i + 1}`, value: parse(line, `${file} line ${i + 1}`) });
    });
  } else {
    const all = parse(text, file);
    if (!Array.isArray(all)) fail(file, 'a .json dataset must be an array of rows; or write one row per line in a .jsonl file.');
    all.forEach((value, i) => values.push({ where: `${file} [${i}]`, value }));
  }
  if (values.length === 0) fail(file, 'has no rows.');
  return values.map(({ where, value }) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, `a row must be an object like {"text": "...", "label": 0}, got ${JSON.stringify(value)}.`);
    return { where, value: value as Record<string, unknown> };
  });
}

function intArray(row: Row, key: string, length?: number): number[] | undefined {
  const v = row.value[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && (x as number) >= 0)) fail(row.where, `${key} must be a non-empty array of integers >= 0.`);
  if (length !== undefined && v.length !== length) fail(row.where, `${key} has ${v.length} entries but inputIds has ${length}; give one per token.`);
  return v as number[];
}

function label(row: Row, numLabels: number): number | undefined {
  const v = row.value.label;
  if (v === undefined) return undefined;
  if (numLabels === 1) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(row.where, `label must be a number (the model does regression: numLabels 1), got ${JSON.stringify(v)}.`);
  } else if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= numLabels) {
    fail(row.where, `label must be a class id in [0, ${numLabels}), got ${JSON.stringify(v)}; set numLabels to the number of classes.`);
  }
  return v as number;
}

/** Read, check and tokenize a dataset file into trainer examples; `field` names where the path was given. */
export function readExamples(file: string, options: ReadExamplesOptions, field = 'data.train / data.eval'): ExamplesFile {
  const rows = readRows(file, field);
  const examples: Example[] = [];
  const textRows: TextRow[] = [];
  const labels = rows.map((row) => label(row, options.numLabels));
  const labelled = labels[0] !== undefined;
  rows.forEach((row, index) => {
    if ((labels[index] !== undefined) !== labelled) fail(row.where, `${labelled ? 'has no label but the first row has one' : 'has a label but the first row has none'}; label every row or none.`);
    const { text, textPair } = row.value;
    const inputIds = intArray(row, 'inputIds');
    if ((text === undefined) === (inputIds === undefined)) fail(row.where, 'needs exactly one of "text" (a string) or "inputIds" (token ids).');
    const lab = labels[index] === undefined ? {} : { label: labels[index] };
    if (inputIds === undefined) {
      if (typeof text !== 'string') fail(row.where, `text must be a string, got ${JSON.stringify(text)}.`);
      if (textPair !== undefined && typeof textPair !== 'string') fail(row.where, `textPair must be a string, got ${JSON.stringify(textPair)}.`);
      textRows.push({ row, index, text, ...(typeof textPair === 'string' && { pair: textPair }) });
      // The text stays on the example: a teacher with its own tokenizer re-encodes it.
      examples.push({ inputIds: [], text, ...(typeof textPair === 'string' && { textPair }), ...lab }); // ids filled in by the batch tokenization below
      return;
    }
    if (inputIds.length > options.maxLength) fail(row.where, `has ${inputIds.length} inputIds, more than data.maxLength (${options.maxLength}); shorten the row or raise data.maxLength.`);
    const attentionMask = intArray(row, 'attentionMask', inputIds.length);
    const tokenTypeIds = intArray(row, 'tokenTypeIds', inputIds.length);
    examples.push({ inputIds, ...(attentionMask && { attentionMask }), ...(tokenTypeIds && { tokenTypeIds }), ...lab });
  });
  tokenize(textRows, examples, options);
  rows.forEach((row, i) => checkLimits(row, examples[i]!, options.limits));
  return { examples, labelled };
}

/** A row within every reading model's tables: vocab_size, type_vocab_size, positions. */
function checkLimits(row: Row, example: Example, limits: readonly TokenLimits[]): void {
  for (const m of limits) {
    const tooBig = example.inputIds.find((id) => id >= m.vocabSize);
    if (tooBig !== undefined) fail(row.where, `token id ${tooBig} is >= the ${m.role}'s vocab_size (${m.vocabSize}); use the ${m.role}'s own tokenizer, or a model config with a larger vocab_size.`);
    const type = m.typeVocabSize === undefined ? undefined : example.tokenTypeIds?.find((t) => t >= m.typeVocabSize!);
    if (type !== undefined) fail(row.where, `token type id ${type} is >= the ${m.role}'s type_vocab_size (${m.typeVocabSize}); drop tokenTypeIds / textPair, or use a model with more token types.`);
    if (example.inputIds.length > m.positions) fail(row.where, `has ${example.inputIds.length} tokens but the ${m.role} has positions for ${m.positions} (max_position_embeddings); shorten the row or lower data.maxLength.`);
  }
}

/** Texts are tokenized in one batch: plain rows together, pair rows together. */
function tokenize(textRows: readonly TextRow[], examples: Example[], options: ReadExamplesOptions): void {
  if (textRows.length === 0) return;
  const { tokenizer } = options;
  if (tokenizer === undefined) fail(textRows[0]!.row.where, 'has text but no tokenizer is set; set tokenizer (--tokenizer) to a tokenizer folder or hub id, or pre-tokenize rows as inputIds.');
  for (const group of [textRows.filter((r) => r.pair === undefined), textRows.filter((r) => r.pair !== undefined)]) {
    if (group.length === 0) continue;
    const pairs = group[0]!.pair === undefined ? {} : { textPairs: group.map((r) => r.pair!) };
    const enc = tokenizer.encode(group.map((r) => r.text), { truncation: true, maxLength: options.maxLength, padding: false, ...pairs });
    group.forEach((r, i) => {
      examples[r.index] = { ...examples[r.index]!, inputIds: enc.inputIds[i]!, attentionMask: enc.attentionMask[i]!, tokenTypeIds: enc.tokenTypeIds[i]! };
    });
  }
}

/**
 * The train / eval files of a `data` section, checked against every model that will read them
 * (`models` by role, the trained one first: its head sets the labels), before any training step.
 */
export function readDataFiles(f: ConfigFields, data: DataConfig, models: Record<string, Classifier | OnnxTeacherLike>, tokenizer: AutoTokenizer | undefined): { train?: ExamplesFile; eval?: ExamplesFile } {
  const limits = Object.entries(models).flatMap(([role, m]) => {
    const config = limitsConfig(m);
    return config ? [tokenLimits(role, config)] : [];
  });
  const shortest = limits.reduce((a, b) => (b.positions < a.positions ? b : a));
  if (data.maxLength !== undefined && data.maxLength > shortest.positions) f.fail('data.maxLength', `is ${data.maxLength} but the ${shortest.role} has positions for ${shortest.positions} tokens; lower it to at most ${shortest.positions}.`);
  const options = { ...(tokenizer && { tokenizer }), maxLength: data.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, shortest.positions), numLabels: Object.values(models)[0]!.config.numLabels, limits };
  return {
    ...(data.train !== undefined && { train: readExamples(data.train, options, f.where('data.train')) }),
    ...(data.eval !== undefined && { eval: readExamples(data.eval, options, f.where('data.eval')) }),
  };
}
