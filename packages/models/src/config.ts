/**
 * Typed model configs parsed from Hugging Face `config.json`, one field table per `model_type`.
 * Each table maps a camelCase field to its HF key, a validator and HF's default, so parsing,
 * validation and writing back (`configToJSON`) all come from the same list.
 */
import { defaultFileStore, joinPath, readText, type FileStore } from '@distillery/storage';
import { DistilleryModelsError } from './errors.js';

export type ModelType = 'bert' | 'distilbert' | 'roberta' | 'albert' | 'electra';
export const MODEL_TYPES: readonly ModelType[] = ['bert', 'distilbert', 'roberta', 'albert', 'electra'];

/** HF `ACT2FN` names we implement (see layers.ts `activation`). */
export type Activation = 'gelu' | 'gelu_python' | 'gelu_new' | 'gelu_pytorch_tanh' | 'gelu_fast' | 'quick_gelu' | 'relu' | 'silu' | 'swish' | 'tanh';
export const ACTIVATIONS: readonly Activation[] = ['gelu', 'gelu_python', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'quick_gelu', 'relu', 'silu', 'swish', 'tanh'];

export type ProblemType = 'regression' | 'single_label_classification' | 'multi_label_classification';
const PROBLEM_TYPES: readonly ProblemType[] = ['regression', 'single_label_classification', 'multi_label_classification'];

/** PretrainedConfig-level fields every family shares. */
export interface CommonConfig {
  architectures?: string[];
  /** Class index → label name; its size is `numLabels`. */
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  numLabels: number;
  /** HF `problem_type`; inferred from `numLabels` and the labels' dtype when absent. */
  problemType?: ProblemType;
  /** Keys this port does not interpret (bos_token_id, torch_dtype, ...), written back unchanged. */
  extra: Record<string, unknown>;
}

interface BertLikeFields {
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  intermediateSize: number;
  hiddenAct: Activation;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  padTokenId: number | null;
  positionEmbeddingType: 'absolute';
}
interface BertFields extends BertLikeFields { classifierDropout: number | null }
interface ElectraFields extends BertFields { embeddingSize: number }
interface AlbertFields extends BertLikeFields { embeddingSize: number; numHiddenGroups: number; innerGroupNum: number; classifierDropoutProb: number }
interface DistilBertFields {
  vocabSize: number;
  maxPositionEmbeddings: number;
  sinusoidalPosEmbds: boolean;
  nLayers: number;
  nHeads: number;
  dim: number;
  hiddenDim: number;
  dropout: number;
  attentionDropout: number;
  activation: Activation;
  initializerRange: number;
  qaDropout: number;
  seqClassifDropout: number;
  padTokenId: number | null;
}

export interface BertConfig extends CommonConfig, BertFields { modelType: 'bert' }
export interface RobertaConfig extends CommonConfig, BertFields { modelType: 'roberta' }
export interface ElectraConfig extends CommonConfig, ElectraFields { modelType: 'electra' }
export interface AlbertConfig extends CommonConfig, AlbertFields { modelType: 'albert' }
export interface DistilBertConfig extends CommonConfig, DistilBertFields { modelType: 'distilbert' }
export type ModelConfig = BertConfig | RobertaConfig | ElectraConfig | AlbertConfig | DistilBertConfig;
export type ConfigFor<T extends ModelType> = Extract<ModelConfig, { modelType: T }>;

// ---- validators: each names the file and HF key on failure ----

type Parser<T> = (value: unknown, key: string, file: string) => T;
type FieldTable<T> = { [K in keyof T]-?: readonly [hfKey: string, parse: Parser<T[K]>, fallback: T[K]] };

/** A value as it reads in the message; configs built in code may hold what JSON cannot (BigInt, cycles). */
function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === 'bigint' ? `${value}n` : `a value JSON cannot represent (${typeof value})`;
  }
}

function invalid(file: string, key: string, value: unknown, want: string): never {
  throw new DistilleryModelsError('CONFIG_INVALID', `${file}: "${key}" is ${show(value)}; it must be ${want}. Fix the value in config.json.`);
}
const posInt: Parser<number> = (v, k, f) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : invalid(f, k, v, 'a positive integer'));
const posNum: Parser<number> = (v, k, f) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? v : invalid(f, k, v, 'a positive number'));
const nonNegNum: Parser<number> = (v, k, f) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? v : invalid(f, k, v, 'a number >= 0'));
const prob: Parser<number> = (v, k, f) => (typeof v === 'number' && v >= 0 && v < 1 ? v : invalid(f, k, v, 'a dropout probability in [0, 1)'));
const bool: Parser<boolean> = (v, k, f) => (typeof v === 'boolean' ? v : invalid(f, k, v, 'true or false'));
const nullable = <T>(p: Parser<T>): Parser<T | null> => (v, k, f) => (v === null ? null : p(v, k, f));
const tokenId: Parser<number | null> = nullable((v, k, f) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : invalid(f, k, v, 'a token id >= 0 or null')));
const activation: Parser<Activation> = (v, k, f) => {
  if (typeof v === 'string' && (ACTIVATIONS as readonly string[]).includes(v)) return v as Activation;
  throw new DistilleryModelsError('UNKNOWN_ACTIVATION', `${f}: "${k}" is ${show(v)}, which this port does not implement; use one of ${ACTIVATIONS.join(', ')}.`);
};
/** `num_labels` alone makes us generate LABEL_i names: cap it so a one-line config cannot demand millions of them. */
export const MAX_GENERATED_LABELS = 1 << 20;
const labelCount: Parser<number> = (v, k, f) =>
  Number.isSafeInteger(v) && (v as number) > 0 && (v as number) <= MAX_GENERATED_LABELS ? (v as number) : invalid(f, k, v, `a positive integer up to ${MAX_GENERATED_LABELS} (list a larger label set in id2label)`);
const absolute: Parser<'absolute'> = (v, k, f) => (v === 'absolute' ? v : invalid(f, k, v, '"absolute" (relative position embeddings are not ported)'));

const BERT_LIKE = (vocabSize: number, padTokenId: number): FieldTable<BertLikeFields> => ({
  vocabSize: ['vocab_size', posInt, vocabSize],
  hiddenSize: ['hidden_size', posInt, 768],
  numHiddenLayers: ['num_hidden_layers', posInt, 12],
  numAttentionHeads: ['num_attention_heads', posInt, 12],
  intermediateSize: ['intermediate_size', posInt, 3072],
  hiddenAct: ['hidden_act', activation, 'gelu'],
  hiddenDropoutProb: ['hidden_dropout_prob', prob, 0.1],
  attentionProbsDropoutProb: ['attention_probs_dropout_prob', prob, 0.1],
  maxPositionEmbeddings: ['max_position_embeddings', posInt, 512],
  typeVocabSize: ['type_vocab_size', posInt, 2],
  initializerRange: ['initializer_range', nonNegNum, 0.02],
  layerNormEps: ['layer_norm_eps', posNum, 1e-12],
  padTokenId: ['pad_token_id', tokenId, padTokenId],
  positionEmbeddingType: ['position_embedding_type', absolute, 'absolute'],
});
const BERT = (vocabSize: number, padTokenId: number): FieldTable<BertFields> => ({
  ...BERT_LIKE(vocabSize, padTokenId),
  classifierDropout: ['classifier_dropout', nullable(prob), null],
});

const FIELDS: { [T in ModelType]: FieldTable<Omit<ConfigFor<T>, keyof CommonConfig | 'modelType'>> } = {
  bert: BERT(30522, 0),
  roberta: BERT(50265, 1),
  electra: {
    ...BERT(30522, 0),
    embeddingSize: ['embedding_size', posInt, 128],
    hiddenSize: ['hidden_size', posInt, 256],
    numAttentionHeads: ['num_attention_heads', posInt, 4],
    intermediateSize: ['intermediate_size', posInt, 1024],
  },
  albert: {
    ...BERT_LIKE(30000, 0),
    embeddingSize: ['embedding_size', posInt, 128],
    hiddenSize: ['hidden_size', posInt, 4096],
    numHiddenGroups: ['num_hidden_groups', posInt, 1],
    numAttentionHeads: ['num_attention_heads', posInt, 64],
    intermediateSize: ['intermediate_size', posInt, 16384],
    innerGroupNum: ['inner_group_num', posInt, 1],
    hiddenAct: ['hidden_act', activation, 'gelu_new'],
    hiddenDropoutProb: ['hidden_dropout_prob', prob, 0],
    attentionProbsDropoutProb: ['attention_probs_dropout_prob', prob, 0],
    classifierDropoutProb: ['classifier_dropout_prob', prob, 0.1],
  },
  distilbert: {
    vocabSize: ['vocab_size', posInt, 30522],
    maxPositionEmbeddings: ['max_position_embeddings', posInt, 512],
    sinusoidalPosEmbds: ['sinusoidal_pos_embds', bool, false],
    nLayers: ['n_layers', posInt, 6],
    nHeads: ['n_heads', posInt, 12],
    dim: ['dim', posInt, 768],
    hiddenDim: ['hidden_dim', posInt, 3072],
    dropout: ['dropout', prob, 0.1],
    attentionDropout: ['attention_dropout', prob, 0.1],
    activation: ['activation', activation, 'gelu'],
    initializerRange: ['initializer_range', nonNegNum, 0.02],
    qaDropout: ['qa_dropout', prob, 0.1],
    seqClassifDropout: ['seq_classif_dropout', prob, 0.2],
    padTokenId: ['pad_token_id', tokenId, 0],
  },
};

/** Keys handled outside the field tables (labels, problem type); never copied into `extra`. */
const COMMON_KEYS = ['model_type', 'architectures', 'id2label', 'label2id', 'num_labels', 'problem_type'];

function defaultLabels(n: number): Record<number, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
}

function parseLabels(raw: Record<string, unknown>, file: string): { id2label: Record<number, string>; label2id: Record<string, number>; numLabels: number } {
  let id2label: Record<number, string>;
  if (raw.id2label !== undefined && raw.id2label !== null) {
    if (typeof raw.id2label !== 'object' || Array.isArray(raw.id2label)) invalid(file, 'id2label', raw.id2label, 'an object {"0": "name", ...}');
    const entries = Object.entries(raw.id2label as Record<string, unknown>).map(([k, v]) => {
      const i = Number(k);
      if (!Number.isSafeInteger(i) || i < 0 || typeof v !== 'string') invalid(file, 'id2label', raw.id2label, 'an object of integer keys to label names');
      return [i, v] as const;
    });
    const ids = entries.map(([i]) => i).sort((a, b) => a - b);
    if (!ids.every((id, n) => id === n)) invalid(file, 'id2label', raw.id2label, 'keyed 0..num_labels-1 without gaps');
    id2label = Object.fromEntries(entries);
    if (raw.num_labels !== undefined && raw.num_labels !== entries.length) invalid(file, 'num_labels', raw.num_labels, `equal to the ${entries.length} entries of id2label`);
  } else {
    id2label = defaultLabels(raw.num_labels === undefined ? 2 : labelCount(raw.num_labels, 'num_labels', file));
  }
  const label2id = Object.fromEntries(Object.entries(id2label).map(([i, name]) => [name, Number(i)]));
  return { id2label, label2id, numLabels: Object.keys(id2label).length };
}

function checkShapes(c: ModelConfig, file: string): void {
  const [hidden, heads, hk, nk] = c.modelType === 'distilbert' ? [c.dim, c.nHeads, 'dim', 'n_heads'] : [c.hiddenSize, c.numAttentionHeads, 'hidden_size', 'num_attention_heads'];
  if (hidden % heads !== 0) {
    throw new DistilleryModelsError('CONFIG_INVALID', `${file}: "${hk}" (${hidden}) must be a multiple of "${nk}" (${heads}) so every head gets hidden/heads dims; change one of them.`);
  }
  if (c.padTokenId !== null && c.padTokenId >= c.vocabSize) invalid(file, 'pad_token_id', c.padTokenId, `below vocab_size (${c.vocabSize})`);
  if (c.modelType === 'roberta' && c.padTokenId === null) invalid(file, 'pad_token_id', null, 'a token id: RoBERTa counts positions from it');
}

/** The most elements one tfjs tensor holds (its buffers are indexed by int32). */
const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

type WeightShape = readonly [what: string, rowsKey: string, rows: number, colsKey: string, cols: number];

/** Each family's large 2-D weights, as (rows field, cols field). */
function largeWeights(c: ModelConfig): WeightShape[] {
  if (c.modelType === 'distilbert') {
    return [
      ['word embeddings', 'vocab_size', c.vocabSize, 'dim', c.dim],
      ['position embeddings', 'max_position_embeddings', c.maxPositionEmbeddings, 'dim', c.dim],
      ['feed-forward weight', 'hidden_dim', c.hiddenDim, 'dim', c.dim],
    ];
  }
  // ALBERT and ELECTRA factor their embeddings at embedding_size, then project to hidden_size.
  const [ek, e] = c.modelType === 'albert' || c.modelType === 'electra' ? ['embedding_size', c.embeddingSize] : ['hidden_size', c.hiddenSize];
  return [
    ['word embeddings', 'vocab_size', c.vocabSize, ek, e],
    ['position embeddings', 'max_position_embeddings', c.maxPositionEmbeddings, ek, e],
    ['token type embeddings', 'type_vocab_size', c.typeVocabSize, ek, e],
    ['feed-forward weight', 'intermediate_size', c.intermediateSize, 'hidden_size', c.hiddenSize],
  ];
}

/**
 * Sizes that are each valid can still multiply past what one tfjs tensor holds (vocab_size 2^50):
 * refuse them here, naming both fields, instead of letting tfjs fail while allocating the weight.
 */
function checkWeightSizes(c: ModelConfig, file: string): void {
  for (const [what, rk, rows, ck, cols] of largeWeights(c)) {
    if (rows * cols > MAX_TENSOR_ELEMENTS) {
      throw new DistilleryModelsError('CONFIG_INVALID', `${file}: the ${what} would be "${rk}" (${rows}) × "${ck}" (${cols}) = ${BigInt(rows) * BigInt(cols)} elements, more than one tfjs tensor holds (${MAX_TENSOR_ELEMENTS}); lower "${rk}" or "${ck}" in config.json.`);
    }
  }
}

/** Parse an HF config.json object. `file` is named in errors. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DistilleryModelsError('CONFIG_JSON', `${file}: must hold a JSON object; re-export it with save_pretrained().`);
  }
  const json = raw as Record<string, unknown>;
  const modelType = json.model_type;
  if (typeof modelType !== 'string' || !(MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new DistilleryModelsError('UNKNOWN_MODEL_TYPE', `${file}: "model_type" is ${show(modelType)}; supported: ${MODEL_TYPES.join(', ')}. Set it to the family the weights come from.`);
  }
  const table = FIELDS[modelType as ModelType] as Record<string, readonly [string, Parser<unknown>, unknown]>;
  const known = new Set([...COMMON_KEYS, ...Object.values(table).map(([hf]) => hf)]);
  const fields: Record<string, unknown> = {};
  for (const [name, [hf, parse, fallback]] of Object.entries(table)) fields[name] = json[hf] === undefined ? fallback : parse(json[hf], hf, file);
  const architectures = json.architectures;
  if (architectures !== undefined && architectures !== null && !(Array.isArray(architectures) && architectures.every((a) => typeof a === 'string'))) {
    invalid(file, 'architectures', architectures, 'a list of class names');
  }
  const problemType = json.problem_type;
  if (problemType !== undefined && problemType !== null && !(PROBLEM_TYPES as readonly unknown[]).includes(problemType)) invalid(file, 'problem_type', problemType, `one of ${PROBLEM_TYPES.join(', ')} or null`);
  const config = {
    modelType,
    ...fields,
    ...parseLabels(json, file),
    ...(Array.isArray(architectures) ? { architectures: architectures as string[] } : {}),
    ...(problemType ? { problemType: problemType as ProblemType } : {}),
    extra: Object.fromEntries(Object.entries(json).filter(([k]) => !known.has(k))),
  } as ModelConfig;
  checkShapes(config, file);
  checkWeightSizes(config, file);
  return config;
}

/** A config for `modelType` with HF defaults, then `overrides` (camelCase fields), validated. */
export function createConfig<T extends ModelType>(modelType: T, overrides: Partial<Omit<ConfigFor<T>, 'modelType'>> = {}): ConfigFor<T> {
  return withOverrides(parseConfig({ model_type: modelType }, `<${modelType} defaults>`) as ConfigFor<T>, overrides);
}

/**
 * Apply camelCase overrides and re-validate. `numLabels` alone regenerates `LABEL_i` names,
 * as HF's `from_pretrained(..., num_labels=n)` does.
 */
export function withOverrides<C extends ModelConfig>(config: C, overrides: Partial<Omit<C, 'modelType'>>): C {
  const source = `<${config.modelType} config overrides>`;
  const labels = overrides.numLabels !== undefined && overrides.id2label === undefined ? { id2label: defaultLabels(labelCount(overrides.numLabels, 'numLabels', source)) } : {};
  return parseConfig(configToJSON({ ...config, ...overrides, ...labels } as C), source) as C;
}

/** Write a config back as HF's `config.json` object (snake_case keys, unknown keys preserved). */
export function configToJSON(config: ModelConfig): Record<string, unknown> {
  const table = FIELDS[config.modelType] as Record<string, readonly [string, Parser<unknown>, unknown]>;
  const out: Record<string, unknown> = { ...config.extra };
  if (config.architectures) out.architectures = [...config.architectures];
  for (const [name, [hf]] of Object.entries(table)) out[hf] = (config as unknown as Record<string, unknown>)[name];
  out.id2label = Object.fromEntries(Object.entries(config.id2label).map(([i, n]) => [String(i), n]));
  out.label2id = Object.fromEntries(Object.entries(config.id2label).map(([i, n]) => [n, Number(i)]));
  if (config.problemType) out.problem_type = config.problemType;
  out.model_type = config.modelType;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

/** A config.json that could not be read, as the typed error naming it. */
export function configUnreadable(file: string, cause: unknown): DistilleryModelsError {
  return new DistilleryModelsError('CONFIG_MISSING', `${file}: cannot read (${(cause as Error).message}); a model folder needs the config.json that save_pretrained() writes.`, { cause });
}

/** The config in `text`, the contents of `file`; malformed JSON is a typed error naming it. */
export function configFromText(text: string, file: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new DistilleryModelsError('CONFIG_JSON', `${file}: not valid JSON (${(cause as Error).message}); fix or re-export it.`, { cause });
  }
  return parseConfig(json, file);
}

/** Read `<dir>/config.json` from `store` (the file system in Node, OPFS in a browser); a missing or malformed file is a typed error naming it. */
export async function readConfig(dir: string, store: FileStore = defaultFileStore()): Promise<ModelConfig> {
  const file = joinPath(dir, 'config.json');
  let text: string;
  try {
    text = await readText(store, file);
  } catch (cause) {
    throw configUnreadable(file, cause);
  }
  return configFromText(text, file);
}
