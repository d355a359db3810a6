/**
 * `exportOnnx`: a trained model as a transformers.js folder — `config.json`, the tokenizer
 * files, `onnx/model.onnx` and, with `quantize`, `onnx/model_quantized.onnx` (dynamic int8,
 * what transformers.js loads for `dtype: 'q8'`). The graph's outputs are the head's; the layer
 * outputs an ONNX teacher needs for layer-level distillation are added on request.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configToJSON, writeAtomic, type AnyModel } from '@distillery/models';
import { DistilleryOnnxError } from './errors.js';
import { buildGraph, type GraphSignature } from './graph.js';
import type { LayerOutputOptions } from './layer-outputs.js';

/** Tokenizer files transformers.js (and HF) read, whichever the tokenizer has. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt', 'spiece.model', 'added_tokens.json'];

/**
 * `outputHiddenStates` adds `hidden_states.0` (embeddings) … `hidden_states.{L}`, `outputAttentions`
 * `attentions.0` … `attentions.{L-1}` (softmax probabilities), `outputAttentionScores`
 * `attention_scores.{i}` (pre-mask Q·Kᵀ/√d, TinyBERT's target): what an `OnnxTeacher` returns to
 * the hidden-state and attention plugins. Default: the head's outputs only.
 */
export interface ExportOptions extends LayerOutputOptions {
  /** Also write the dynamic-int8 `onnx/model_quantized.onnx`. */
  quantize?: boolean;
  /** Folder whose tokenizer files are copied beside the model (usually the model's own folder). */
  tokenizerDir?: string;
}

export interface ExportResult {
  /** Every file written, relative to the output folder. */
  files: string[];
  /** Tokenizer files copied (empty: the folder holds the model alone). */
  tokenizerFiles: string[];
  signature: GraphSignature;
}

export async function exportOnnx(model: AnyModel, dir: string, options: ExportOptions = {}): Promise<ExportResult> {
  const { quantize, tokenizerDir, ...layers } = options;
  const fp32 = await buildGraph(model, layers);
  const files: string[] = [];
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await writeAtomic(join(dir, 'onnx', 'model.onnx'), fp32.bytes);
  files.push('onnx/model.onnx');
  if (quantize) {
    await writeAtomic(join(dir, 'onnx', 'model_quantized.onnx'), (await buildGraph(model, { ...layers, quantize: true })).bytes);
    files.push('onnx/model_quantized.onnx');
  }
  const tokenizerFiles = tokenizerDir === undefined ? [] : TOKENIZER_FILES.filter((f) => existsSync(join(tokenizerDir, f)));
  for (const f of tokenizerFiles) {
    try {
      await copyFile(join(tokenizerDir!, f), join(dir, f));
    } catch (cause) {
      throw new DistilleryOnnxError('WRITE_FAILED', `${join(dir, f)}: could not copy the tokenizer file (${(cause as Error).message}); check free disk space and permissions.`, { cause });
    }
  }
  files.push(...tokenizerFiles);
  // config.json last: a folder with a config is taken as complete (as savePretrained does).
  const config = configToJSON({ ...model.config, architectures: [model.constructor.name] });
  await writeAtomic(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  files.push('config.json');
  return { files, tokenizerFiles, signature: fp32.signature };
}
