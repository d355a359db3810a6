/**
 * `@distillery/onnx` is an optional peer of the CLI (it brings ONNX Runtime): loaded on first use
 * by `export` and by an ONNX `--teacher`, so every other command runs without it installed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '@distillery/models';
import type { DistillModel } from '@distillery/plugins';
import { DistilleryCliError } from './errors.js';

/** What the CLI reads of an ONNX teacher (structural, so the CLI's types need no ONNX package). */
export interface OnnxTeacherLike extends DistillModel {
  readonly config: { numLabels: number };
  /** Set when its config.json is one @distillery/models parses: token and position limits. */
  readonly modelConfig: ModelConfig | undefined;
  dispose(): Promise<void>;
}

export async function loadOnnx(feature: string): Promise<typeof import('@distillery/onnx')> {
  try {
    return await import('@distillery/onnx');
  } catch (cause) {
    if ((cause as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw cause;
    throw new DistilleryCliError('CLI_USAGE', `${feature} needs the optional package @distillery/onnx (ONNX Runtime); install it beside @distillery/cli (npm install @distillery/onnx).`, { cause });
  }
}

/** A transformers.js folder (onnx/model.onnx or model_quantized.onnx) without safetensors weights. */
export function isOnnxModelFolder(dir: string): boolean {
  return existsSync(join(dir, 'onnx')) && !existsSync(join(dir, 'model.safetensors'));
}
