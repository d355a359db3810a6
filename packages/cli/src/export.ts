/**
 * `distillery export`: a model folder as a transformers.js folder (config.json, tokenizer files,
 * onnx/model.onnx and with --quantize onnx/model_quantized.onnx), for ONNX Runtime in Node or
 * the browser. The head is the one config.json's `architectures` names.
 */
import type { Command } from 'commander';
import { loadConfig, modelClassFor, resolveModelDir } from '@distillery/models';
import { loadOnnx } from './onnx.js';
import { checkOutputDir, replaceFilesAtomic } from './output-path.js';

interface ExportFlags {
  model: string;
  out: string;
  quantize?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a model folder as ONNX in the transformers.js layout (onnx/model.onnx, --quantize adds onnx/model_quantized.onnx)')
    .requiredOption('--model <dir>', 'model folder (config.json + model.safetensors [+ tokenizer]) or hub id')
    .requiredOption('--out <dir>', 'a new or empty folder for the export')
    .option('--quantize', 'also write a dynamic-int8 onnx/model_quantized.onnx (transformers.js dtype "q8")')
    .action(async (flags: ExportFlags) => {
      const out = checkOutputDir(flags.out, { where: `--out ${flags.out}`, inputs: [{ role: 'model', path: flags.model }], overwrite: false, overwriteFlag: null });
      const { exportOnnx, TOKENIZER_FILES } = await loadOnnx('distillery export');
      const dir = await resolveModelDir(flags.model);
      const model = await modelClassFor(loadConfig(dir)).fromPretrained(dir, { log: (line) => console.error(line) });
      try {
        let written: string[] = [];
        let tokenizer: string[] = [];
        await replaceFilesAtomic(out, async (staging) => {
          ({ files: written, tokenizerFiles: tokenizer } = await exportOnnx(model, staging, { quantize: flags.quantize ?? false, tokenizerDir: dir }));
        });
        console.error(`[distillery] exported ${model.constructor.name} to ${flags.out}: ${written.join(', ')}`);
        if (tokenizer.length === 0) {
          console.error(`[distillery] ${flags.model} has no tokenizer files (${TOKENIZER_FILES.slice(0, 3).join(', ')}, ...): exported the model alone. transformers.js pipelines need one; copy the tokenizer's files into ${flags.out}.`);
        }
      } finally {
        model.dispose();
      }
    });
}
