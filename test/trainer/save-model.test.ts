/** HF names where users look for them: `trainer.saveModel(dir)` and `reportTo: 'none' | 'all' | name`. */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification, createConfig, writeWordPieceTokenizer } from '@distillery/models';
import { DistilleryTrainerError, Trainer, TrainingArguments, initBackend, type TrainingArgumentsInit } from '@distillery/trainer';
import { quietArgs, tempDir } from './helpers/setup.js';

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });

describe('Trainer.saveModel', () => {
  it('writes the model, the processing class (tokenizer) and training_args.json; the folder reloads to the same logits', async () => {
    const tokDir = tempDir();
    writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad', 'film'], tokDir);
    const tokenizer = await AutoTokenizer.fromPretrained(tokDir);
    const model = new BertForSequenceClassification(createConfig('bert', { vocabSize: 8, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }), 4);
    const rows = tokenizer.encode(['good film', 'bad film', 'good', 'bad']).inputIds;
    const trainer = new Trainer({ model, args: quietArgs({ maxSteps: 3, perDeviceTrainBatchSize: 2 }), trainDataset: rows.map((inputIds, i) => ({ inputIds, label: i % 2 })), processingClass: tokenizer });
    await trainer.train();
    const dir = join(tempDir(), 'saved');
    await trainer.saveModel(dir);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'training_args.json']) expect(existsSync(join(dir, file)), file).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'training_args.json'), 'utf8'))).toMatchObject({ maxSteps: 3, perDeviceTrainBatchSize: 2 });

    const reloaded = await AutoModelForSequenceClassification.fromPretrained(dir, { log: false });
    const logits = (m: { forward(i: { inputIds: tf.Tensor2D }): { logits: tf.Tensor } }) => tf.tidy(() => m.forward({ inputIds: tf.tensor2d([rows[0]!], undefined, 'int32') }).logits.arraySync());
    expect(logits(reloaded)).toEqual(logits(model));
    expect((await AutoTokenizer.fromPretrained(dir)).encode(['good film']).inputIds).toEqual([rows[0]]);
  });

  it('defaults to args.outputDir', async () => {
    const args = quietArgs({ maxSteps: 1 });
    const model = new BertForSequenceClassification(createConfig('bert', { vocabSize: 8, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }), 4);
    await new Trainer({ model, args }).saveModel();
    expect(existsSync(join(args.outputDir, 'model.safetensors'))).toBe(true);
  });
});

describe('TrainingArguments.reportTo', () => {
  const reportTo = (v: unknown) => new TrainingArguments({ outputDir: 'runs/x', reportTo: v } as TrainingArgumentsInit).reportTo;
  it("takes HF's keywords 'none' and 'all' besides a list", () => {
    expect(reportTo('none')).toEqual([]);
    expect(reportTo('all')).toEqual(['jsonl', 'tensorboard']);
    expect(reportTo(['jsonl'])).toEqual(['jsonl']);
    expect(reportTo(undefined)).toEqual(['jsonl']);
  });
  it('names the field and the fix for anything else', () => {
    expect(() => reportTo(['wandb'])).toThrow(/TrainingArguments\.reportTo: "wandb" is not one of "jsonl", "tensorboard"/);
    expect(() => reportTo('jsonl')).toThrow(DistilleryTrainerError);
    expect(() => reportTo(3)).toThrow(/TrainingArguments\.reportTo: must be a list/);
  });
});
