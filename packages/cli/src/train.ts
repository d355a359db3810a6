/**
 * `distillery train`: fine-tune a sequence classifier (a folder / hub id, or a config.json object
 * for a random init) on a labelled file with the Trainer; write checkpoints and, at the end, an
 * HF folder (model + tokenizer) and train_results.json into training.outputDir.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { Trainer, type TrainingArguments } from '@distillery/trainer';
import { ConfigFields, DATA_FLAGS, TRAINING_FLAGS, addConfigOptions, commonConfig, checkRunOutputs, configSource, trainingArguments, type CommonConfig, type ModelSource, type OverrideFlag } from './config.js';
import { readDataFiles } from './data.js';
import { writeFileAtomic } from './output-path.js';
import { classificationMetrics, formatMetrics, loadClassifier, loadTokenizer, savePretrainedFolder } from './models.js';
import { addResumeOption, describeRun, resumeCheckpoint, trainResumable } from './resume.js';

export interface TrainConfig extends CommonConfig {
  model: ModelSource;
  training: TrainingArguments;
}

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'model', path: 'model', description: 'model folder or hub id to fine-tune (a config.json object in the file trains from scratch)' },
  ...DATA_FLAGS,
  ...TRAINING_FLAGS,
];

export function parseTrainConfig(f: ConfigFields): TrainConfig {
  f.topLevel(['model', 'tokenizer', 'numLabels', 'data', 'training']);
  const model = f.get('model');
  if (model === undefined) f.fail('model', 'is required: a model folder, a hub id, or a config.json object such as {"model_type": "bert", "num_hidden_layers": 2}.');
  return { model: f.modelSource(model, 'model'), ...commonConfig(f, { train: true, eval: false }), training: trainingArguments(f) };
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
    const runConfig = describeRun('train', { model: config.model, tokenizer: config.tokenizer, numLabels: config.numLabels }, config.data, args);
    const checkpoint = resumeCheckpoint(opts.resumeFromCheckpoint, args.outputDir, runConfig);
    const tokenizer = await loadTokenizer(config.tokenizer, config.model);
    const model = await loadClassifier(config.model, { seed: args.seed, ...(config.numLabels !== undefined && { numLabels: config.numLabels }) });
    const data = readDataFiles(f, config.data, { model }, tokenizer);
    if (!data.train!.labelled) f.fail('data.train', 'has no labels; train needs {"label": ...} on every row (distill can use unlabelled rows).');

    const trainer = new Trainer({
      model, args, trainDataset: data.train!.examples,
      ...(data.eval && { evalDataset: data.eval.examples }),
      computeMetrics: classificationMetrics(model.config.numLabels),
      runConfig,
    });
    console.error(`[distillery] train: ${model.constructor.name} (${model.config.numLabels} labels) on ${data.train!.examples.length} examples`);
    const result = await trainResumable(trainer, checkpoint);
    const metrics = { ...result.metrics, ...(data.eval && (await trainer.evaluate())) };
    await savePretrainedFolder(model, tokenizer, args.outputDir);
    writeFileAtomic(join(args.outputDir, 'train_results.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    model.dispose();
    console.log(`train: ${result.globalStep} steps, saved ${args.outputDir}\n${formatMetrics(metrics)}`);
  });
}
