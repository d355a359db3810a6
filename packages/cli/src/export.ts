/**
 * `distillery export`: a model folder as a transformers.js folder (config.json, tokenizer files,
 * onnx/model.onnx and with --quantize onnx/model_quantized.onnx), for ONNX Runtime in Node or
 * the browser. The head is the one config.json's `architectures` names. --hidden-states /
 * --attentions / --attention-scores add the per-layer outputs an ONNX teacher needs for
 * layer-level distillation (optimum's `hidden_states.{i}` / `attentions.{i}` names).
 */
import type { Command } from 'commander';
import { loadConfig, modelClassFor, resolveModelDir } from '@distillery/models';
import { loadOnnx } from './onnx.js';
import { nonEmpty } from './flag-value.js';
import { checkOutputDir, replaceFilesAtomic } from './output-path.js';

interface ExportFlags {
  model: string;
  out: string;
  quantize?: boolean;
  hiddenStates?: boolean;
  attentions?: boolean;
  attentionScores?: boolean;
}

/** `logits, hidden_states.0, hidden_states.1, hidden_states.2` as `logits, hidden_states.{0..2}`. */
function outputList(names: readonly string[]): string {
  const groups = new Map<string, number[]>();
  for (const name of names) {
    const m = /^(.*)\.(\d+)$/.exec(name);
    const [key, index] = m ? [m[1]!, Number(m[2])] : [name, undefined];
    groups.set(key, [...(groups.get(key) ?? []), ...(index === undefined ? [] : [index])]);
  }
  return [...groups].map(([key, ids]) => (ids.length === 0 ? key : `${key}.{${ids[0]}..${ids.at(-1)}}`)).join(', ');
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a model folder as ONNX in the transformers.js layout (onnx/model.onnx, --quantize adds onnx/model_quantized.onnx)')
    .requiredOption('--model <dir>', 'model folder (config.json + model.safetensors [+ tokenizer]) or hub id', nonEmpty)
    .requiredOption('--out <dir>', 'a new or empty folder for the export', nonEmpty)
    .option('--quantize', 'also write a dynamic-int8 onnx/model_quantized.onnx (transformers.js dtype "q8")')
    .option('--hidden-states', 'add outputs hidden_states.{0..L} (embeddings, then each layer): an ONNX teacher for hidden-state plugins')
    .option('--attentions', 'add outputs attentions.{0..L-1} (softmax probabilities): an ONNX teacher for attention plugins')
    .option('--attention-scores', 'add outputs attention_scores.{0..L-1} (pre-mask scores): for attention plugins with target "scores"')
    .action(async (flags: ExportFlags) => {
      const out = checkOutputDir(flags.out, { where: `--out ${flags.out}`, inputs: [{ role: 'model', path: flags.model }], overwrite: false, overwriteFlag: null });
      const { exportOnnx, TOKENIZER_FILES } = await loadOnnx('distillery export');
      const dir = await resolveModelDir(flags.model);
      const model = await modelClassFor(loadConfig(dir)).fromPretrained(dir, { log: (line) => console.error(line) });
      try {
        let written: string[] = [];
        let tokenizer: string[] = [];
        let outputs: string[] = [];
        const layers = { outputHiddenStates: flags.hiddenStates ?? false, outputAttentions: flags.attentions ?? false, outputAttentionScores: flags.attentionScores ?? false };
        await replaceFilesAtomic(out, async (staging) => {
          ({ files: written, tokenizerFiles: tokenizer, signature: { outputs } } = await exportOnnx(model, staging, { quantize: flags.quantize ?? false, tokenizerDir: dir, ...layers }));
        });
        console.error(`[distillery] exported ${model.constructor.name} to ${flags.out}: ${written.join(', ')}; graph outputs ${outputList(outputs)}`);
        if (tokenizer.length === 0) {
          console.error(`[distillery] ${flags.model} has no tokenizer files (${TOKENIZER_FILES.slice(0, 3).join(', ')}, ...): exported the model alone. transformers.js pipelines need one; copy the tokenizer's files into ${flags.out}.`);
        }
      } finally {
        model.dispose();
      }
    });
}
