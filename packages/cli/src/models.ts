/**
 * What the commands load and write: a teacher (a sequence classifier, or an ONNX export), the
 * tokenizer, the metrics they print, and the HF folder they save.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AutoTokenizer, loadConfig, resolveModelDir, type ModelConfig, type ModelForSequenceClassification } from '@distillery/models';
import type { ModelShape } from '@distillery/plugins';
import { accuracy, argmaxPredictions, f1, mse, nonFiniteNames, type EvalPrediction } from '@distillery/trainer';
import { DistilleryCliError } from './errors.js';
import type { ModelSource } from './config.js';
import { isOnnxModelFolder, loadOnnx, type OnnxTeacherLike } from './onnx.js';
import { replaceFilesAtomic } from './output-path.js';
import { loadTaskModel } from './tasks/task.js';

export type Classifier = ModelForSequenceClassification<ModelConfig>;

/**
 * A model whose outputs are used as they are (eval's model, a teacher) must have loaded every
 * weight: a head initialised afresh (a --task that does not match the folder's head, a base
 * model saved without one) would score noise and exit 0. `where` names the field or flag.
 */
export function requireTrainedWeights<M extends object>(model: M, where: string): M {
  // An ONNX teacher has no loadingInfo: its graph holds every weight.
  const missing = (model as { loadingInfo?: { missingKeys: string[] } }).loadingInfo?.missingKeys ?? [];
  if (missing.length > 0) {
    const shown = missing.slice(0, 3).join(', ') + (missing.length > 3 ? ', ...' : '');
    throw new DistilleryCliError('CONFIG_INVALID', `${where}: has no trained weights for ${missing.length} tensor(s) of ${model.constructor.name} (${shown}); its head is for another task. Pass the --task it was trained for, or a model trained for this one.`);
  }
  return model;
}

/**
 * A teacher: an ONNX folder (transformers.js layout, no safetensors weights) runs in ONNX Runtime,
 * anything else loads as a TF.js classifier.
 */
export async function loadTeacher(source: ModelSource, options: { seed: number }): Promise<Classifier | OnnxTeacherLike> {
  if (typeof source === 'string' && existsSync(source) && isOnnxModelFolder(source)) {
    const { OnnxTeacher } = await loadOnnx(`--teacher ${source} (an ONNX folder)`);
    return OnnxTeacher.fromPretrained(source);
  }
  return (await loadTaskModel('sequence-classification', source, options)) as Classifier;
}

/** A model's layers, width and heads from its config.json (or config object) alone: no weights are read. */
export async function configShape(source: ModelSource): Promise<ModelShape> {
  const c = typeof source === 'string' ? loadConfig(await resolveModelDir(source)) : source;
  return c.modelType === 'distilbert' ? { numLayers: c.nLayers, hiddenSize: c.dim, numHeads: c.nHeads } : { numLayers: c.numHiddenLayers, hiddenSize: c.hiddenSize, numHeads: c.numAttentionHeads };
}

/** The config whose token tables bound the data: an ONNX teacher's when its config.json parses. */
export function limitsConfig(model: Classifier | OnnxTeacherLike): ModelConfig | undefined {
  return 'modelConfig' in model ? model.modelConfig : model.config;
}

/**
 * The tokenizer `id` names; without one, the model's own when its folder has one (a hub id is
 * asked for it). Undefined when there is none: pre-tokenized data needs no tokenizer.
 */
export async function loadTokenizer(id: string | undefined, model: ModelSource): Promise<AutoTokenizer | undefined> {
  if (id !== undefined) return AutoTokenizer.fromPretrained(id);
  if (typeof model !== 'string') return undefined;
  const local = resolve(model);
  if (existsSync(local)) return existsSync(join(local, 'tokenizer.json')) ? AutoTokenizer.fromPretrained(local) : undefined;
  return AutoTokenizer.fromPretrained(model);
}

/** Accuracy and F1 (binary for two classes, macro beyond), or MSE for regression (numLabels 1). */
export function classificationMetrics(numLabels: number): (p: EvalPrediction) => Record<string, number> {
  return (p): Record<string, number> => {
    if (numLabels === 1) return { mse: mse(p.predictions.map((row) => (row as number[])[0]!), p.labelIds as number[]) };
    const { predicted, labels } = argmaxPredictions(p);
    return { accuracy: accuracy(predicted, labels), f1: f1(predicted, labels, { average: numLabels === 2 ? 'binary' : 'macro' }) };
  };
}

/**
 * `dir` as an HF folder: config.json + model.safetensors, plus the tokenizer's files when there is
 * one. Written as a unit (staged, then renamed in): a full disk mid-weights keeps the old files.
 * Weights holding NaN/Inf are refused (RUN_FAILED): a broken model is never saved as a result.
 */
export async function savePretrainedFolder(model: Pick<Classifier, 'savePretrained' | 'namedParameters'>, tokenizer: AutoTokenizer | undefined, dir: string): Promise<void> {
  const nonFinite = await nonFiniteNames(model.namedParameters());
  if (nonFinite.length > 0) throw new DistilleryCliError('RUN_FAILED', `the trained model has NaN/Inf in ${nonFinite.length} weight tensor(s) (first: ${nonFinite[0]}); nothing saved to ${dir}. Lower learningRate, or check the inputs and teacher weights.`);
  await replaceFilesAtomic(dir, async (staging) => {
    await model.savePretrained(staging);
    // A tokenizer read from `dir` itself is already there.
    if (tokenizer !== undefined && resolve(tokenizer.dir) !== resolve(dir)) await tokenizer.savePretrained(staging);
  });
}

/** Metrics as aligned `key value` lines, for the terminal. */
export function formatMetrics(metrics: Record<string, number>): string {
  const width = Math.max(...Object.keys(metrics).map((k) => k.length));
  return Object.entries(metrics)
    .map(([k, v]) => `  ${k.padEnd(width)}  ${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join('\n');
}

/** What a model's embedding tables hold: an id beyond them is a wrong (silent) gather in tfjs, so rows are checked first. */
export interface TokenLimits {
  /** How messages name the model: "model", "teacher", "student". */
  role: string;
  vocabSize: number;
  /** Undefined for models without token types (DistilBERT ignores them). */
  typeVocabSize?: number;
  /** Longest input its position table covers. */
  positions: number;
}

export function tokenLimits(role: string, config: ModelConfig): TokenLimits {
  return { role, vocabSize: config.vocabSize, ...('typeVocabSize' in config && { typeVocabSize: config.typeVocabSize }), positions: positionLimit(config) };
}

/** Longest input the model's position table covers (RoBERTa's positions start after its pad id). */
export function positionLimit(config: ModelConfig): number {
  return config.modelType === 'roberta' ? config.maxPositionEmbeddings - (config.padTokenId ?? 0) - 1 : config.maxPositionEmbeddings;
}
