/**
 * `distillery eval`: a sequence classifier (folder or hub id) on a labelled file: loss, accuracy
 * and F1 (MSE for regression), throughput and ms per example; `--json FILE` writes them too.
 */
import type { Command } from 'commander';
import { ConfigFields, addConfigOptions, commonConfig, configSource, inputPaths, type CommonConfig, type OverrideFlag } from './config.js';
import { checkOutputFile, writeFileAtomic } from './output-path.js';
import { formatMetrics, loadTokenizer, requireTrainedWeights } from './models.js';
import { readCommandData } from './tasks/data.js';
import { TASK_FLAGS, loadTaskModel, parseTaskConfig, resolveTask, type TaskConfig } from './tasks/task.js';

export interface EvalConfig extends CommonConfig, TaskConfig {
  model: string;
  batchSize: number;
  /** Where to write the metrics as JSON. */
  output?: string;
}

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'model', path: 'model', description: 'model folder or hub id' },
  ...TASK_FLAGS,
  { flag: 'tokenizer', path: 'tokenizer', description: 'tokenizer folder or hub id (default: the model\'s own)' },
  { flag: 'data', path: 'data.eval', description: '.jsonl/.json rows {text, label} or {inputIds, label}' },
  { flag: 'max-length', path: 'data.maxLength', description: 'tokens per example (default 128)' },
  { flag: 'batch-size', path: 'batchSize', description: 'examples per forward (default 32)' },
  { flag: 'json', path: 'output', description: 'also write the metrics to this JSON file' },
];

export function parseEvalConfig(f: ConfigFields): EvalConfig {
  f.topLevel(['model', 'task', 'taskOptions', 'tokenizer', 'data', 'batchSize', 'output']);
  const model = f.get('model');
  if (model === undefined) f.fail('model', 'is required: a trained model folder or hub id.');
  const output = f.optional(f.get('output'), 'output', (v, p) => f.path(v, p));
  return {
    model: f.folderOrHubId(model, 'model'),
    ...parseTaskConfig(f),
    ...commonConfig(f, { train: false, eval: true }),
    batchSize: f.optional(f.get('batchSize'), 'batchSize', (v, p) => f.int(v, p, 1)) ?? 32,
    ...(output !== undefined && { output }),
  };
}

export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a model on a labelled file for its task: loss, accuracy / F1 (MSE for regression), entity F1, SQuAD EM / F1, or MLM perplexity; ms per example')
    .addHelpText('after', '\nConfig (JSON or YAML): { model, tokenizer?, data: { eval, maxLength? }, batchSize?, output? }');
  addConfigOptions(cmd, FLAGS).action(async (opts: Record<string, unknown>) => {
    const f = new ConfigFields(configSource(opts, FLAGS));
    const config = parseEvalConfig(f);
    if (config.output !== undefined) checkOutputFile(config.output, { where: f.where('output'), inputs: inputPaths(f, config, { model: config.model }), isReport: (j) => 'examples' in j && 'eval_loss' in j });
    const tokenizer = await loadTokenizer(config.tokenizer, config.model);
    const task = await resolveTask(config.task, config.model);
    const model = requireTrainedWeights(await loadTaskModel(task, config.model, { seed: 0 }), f.where('model'));
    const data = readCommandData(f, task, config.data, { model }, tokenizer, config.taskOptions);
    const evaluate = (data.labelled && data.evaluate) || f.fail('data.eval', `has no labels; eval needs ${task === 'question-answering' ? 'answers on every question' : '{"label": ...} on every row'}.`);

    const metrics = await evaluate(model, config.batchSize);
    const examples = data.evalDataset?.length ?? 0;
    delete metrics.epoch;
    if (examples > 0) metrics.eval_ms_per_example = (1000 * metrics.eval_runtime!) / examples;
    model.dispose();
    if (config.output !== undefined) {
      writeFileAtomic(config.output, `${JSON.stringify({ model: config.model, task, data: config.data.eval, examples, ...metrics }, null, 2)}\n`);
    }
    console.log(`eval ${task}: ${config.model} on ${examples} examples\n${formatMetrics(metrics)}`);
  });
}
