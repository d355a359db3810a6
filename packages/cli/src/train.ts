/**
 * `distillery train`: fine-tune a sequence classifier (a folder / hub id, or a config.json object
 * for a random init) on a labelled file with the Trainer; write checkpoints and, at the end, an
 * HF folder (model + tokenizer) and train_results.json into training.outputDir.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { Trainer, type TrainingArguments } from '@distillery/trainer';
import { ConfigFields, DATA_FLAGS, TRAINING_FLAGS, addConfigOptions, commonConfig, checkRunOutputs, configSource, trainingArguments, type CommonConfig, type ModelSource, type OverrideFlag } from './config.js';
import { writeFileAtomic } from './output-path.js';
import { formatMetrics, loadTokenizer, savePretrainedFolder } from './models.js';
import { addResumeOption, describeRun, resumeCheckpoint, trainResumable } from './resume.js';
import { readCommandData, tagList } from './tasks/data.js';
import { TASK_FLAGS, loadTaskModel, parseTaskConfig, resolveTask, type TaskConfig } from './tasks/task.js';

export interface TrainConfig extends CommonConfig, TaskConfig {
  model: ModelSource;
  training: TrainingArguments;
}

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'model', path: 'model', description: 'model folder or hub id to fine-tune (a config.json object in the file trains from scratch)' },
  ...TASK_FLAGS,
  ...DATA_FLAGS,
  ...TRAINING_FLAGS,
];

export function parseTrainConfig(f: ConfigFields): TrainConfig {
  f.topLevel(['model', 'task', 'taskOptions', 'tokenizer', 'numLabels', 'data', 'training']);
  const model = f.get('model');
  if (model === undefined) f.fail('model', 'is required: a model folder, a hub id, or a config.json object such as {"model_type": "bert", "num_hidden_layers": 2}.');
  return { model: f.modelSource(model, 'model'), ...parseTaskConfig(f), ...commonConfig(f, { train: true, eval: false }), training: trainingArguments(f) };
}

export function registerTrain(program: Command): void {
  const cmd = program
    .command('train')
    .description('fine-tune (or train from scratch) a sequence classifier on a {text, label} file; writes checkpoints and an HF folder')
    .addHelpText('after', '\nConfig (JSON or YAML): { model, tokenizer?, numLabels?, data: { train, eval?, maxLength? }, training: { outputDir, ...TrainingArguments } }');
  addResumeOption(addConfigOptions(cmd, FLAGS)).action(async (opts: Record<string, unknown>) => {
    const f = new ConfigFields(configSource(opts, FLAGS));
    const config = parseTrainConfig(f);
    const args = config.training;
    checkRunOutputs(f, config, { model: config.model }, opts.resumeFromCheckpoint !== undefined);
    const runConfig = describeRun('train', { model: config.model, task: config.task, taskOptions: config.taskOptions, tokenizer: config.tokenizer, numLabels: config.numLabels }, config.data, args);
    const checkpoint = await resumeCheckpoint(opts.resumeFromCheckpoint, args.outputDir, runConfig);
    const task = await resolveTask(config.task, config.model);
    const tokenizer = await loadTokenizer(config.tokenizer, config.model);
    // A new token classifier takes the tags its files use, unless the config lists them.
    const tags = task === 'token-classification' && typeof config.model !== 'string' ? (config.taskOptions.labels ?? tagList([config.data.train!, ...(config.data.eval ? [config.data.eval] : [])])) : config.taskOptions.labels;
    const model = await loadTaskModel(task, config.model, { seed: args.seed, ...(tags && { labels: tags }), ...(config.numLabels !== undefined && { numLabels: config.numLabels }) });
    const data = readCommandData(f, task, config.data, { model }, tokenizer, config.taskOptions);
    if (!data.labelled) f.fail('data.train', `has no labels; train needs ${task === 'question-answering' ? 'answers on every question' : '{"label": ...} on every row'} (distill can use unlabelled rows).`);

    const trainer = new Trainer({
      model, args, trainDataset: data.train!,
      ...(data.evalDataset && { evalDataset: data.evalDataset }),
      ...(data.dataCollator && { dataCollator: data.dataCollator }),
      ...(data.computeMetrics && { computeMetrics: data.computeMetrics }),
      runConfig,
    } as never) as Trainer;
    console.error(`[distillery] train ${task}: ${model.constructor.name}${task === 'masked-lm' ? '' : ` (${model.config.numLabels} labels)`} on ${data.train!.length} examples`);
    const result = await trainResumable(trainer, checkpoint);
    const metrics = { ...result.metrics, ...(data.evaluate && { ...(await data.evaluate(model)), epoch: trainer.state.epoch }) };
    await savePretrainedFolder(model, tokenizer, args.outputDir);
    writeFileAtomic(join(args.outputDir, 'train_results.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    model.dispose();
    console.log(`train: ${result.globalStep} steps, saved ${args.outputDir}\n${formatMetrics(metrics)}`);
  });
}
