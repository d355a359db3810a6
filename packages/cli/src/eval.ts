/**
 * `distillery eval`: a sequence classifier (folder or hub id) on a labelled file: loss, accuracy
 * and F1 (MSE for regression), throughput and ms per example; `--json FILE` writes them too.
 */
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { Trainer } from '@distillery/trainer';
import { ConfigFields, addConfigOptions, commonConfig, configSource, inputPaths, type CommonConfig, type OverrideFlag } from './config.js';
import { readDataFiles } from './data.js';
import { checkOutputFile, writeFileAtomic } from './output-path.js';
import { classificationMetrics, formatMetrics, loadClassifier, loadTokenizer } from './models.js';

export interface EvalConfig extends CommonConfig {
  model: string;
  batchSize: number;
  /** Where to write the metrics as JSON. */
  output?: string;
}

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'model', path: 'model', description: 'model folder or hub id' },
  { flag: 'tokenizer', path: 'tokenizer', description: 'tokenizer folder or hub id (default: the model\'s own)' },
  { flag: 'data', path: 'data.eval', description: '.jsonl/.json rows {text, label} or {inputIds, label}' },
  { flag: 'max-length', path: 'data.maxLength', description: 'tokens per example (default 128)' },
  { flag: 'batch-size', path: 'batchSize', description: 'examples per forward (default 32)' },
  { flag: 'json', path: 'output', description: 'also write the metrics to this JSON file' },
];

export function parseEvalConfig(f: ConfigFields): EvalConfig {
  f.topLevel(['model', 'tokenizer', 'data', 'batchSize', 'output']);
  const model = f.get('model');
  if (model === undefined) f.fail('model', 'is required: a trained model folder or hub id.');
  const output = f.optional(f.get('output'), 'output', (v, p) => f.path(v, p));
  return {
    model: f.folderOrHubId(model, 'model'),
    ...commonConfig(f, { train: false, eval: true }),
    batchSize: f.optional(f.get('batchSize'), 'batchSize', (v, p) => f.int(v, p, 1)) ?? 32,
    ...(output !== undefined && { output }),
  };
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a sequence classifier on a labelled file: loss, accuracy, F1 (MSE for regression), ms per example')
    .addHelpText('after', '\nConfig (JSON or YAML): { model, tokenizer?, data: { eval, maxLength? }, batchSize?, output? }');
  addConfigOptions(cmd, FLAGS).action(async (opts: Record<string, unknown>) => {
    const f = new ConfigFields(configSource(opts, FLAGS));
    const config = parseEvalConfig(f);
    if (config.output !== undefined) checkOutputFile(config.output, { where: f.where('output'), inputs: inputPaths(config, { model: config.model }) });
    const tokenizer = await loadTokenizer(config.tokenizer, config.model);
    const model = await loadClassifier(config.model, { seed: 0 });
    const data = readDataFiles(f, config.data, { model }, tokenizer).eval!;
    if (!data.labelled) f.fail('data.eval', 'has no labels; eval needs {"label": ...} on every row.');

    // Evaluation writes nothing: outputDir is required by TrainingArguments but unused here.
    const trainer = new Trainer({ model, args: { outputDir: dirname(config.data.eval!), perDeviceEvalBatchSize: config.batchSize, reportTo: [], disableTqdm: true }, computeMetrics: classificationMetrics(model.config.numLabels) });
    const metrics = await trainer.evaluate(data.examples);
    delete metrics.epoch;
    metrics.eval_ms_per_example = (1000 * metrics.eval_runtime!) / data.examples.length;
    model.dispose();
    if (config.output !== undefined) {
      writeFileAtomic(config.output, `${JSON.stringify({ model: config.model, data: config.data.eval, examples: data.examples.length, ...metrics }, null, 2)}\n`);
    }
    console.log(`eval: ${config.model} on ${data.examples.length} examples\n${formatMetrics(metrics)}`);
  });
}
