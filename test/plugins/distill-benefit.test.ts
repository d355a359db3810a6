/**
 * Does distillation help? A 4-layer teacher (H=48) learns a token-detection task from 192
 * labelled sequences. A 2-layer student (H=32) then either trains alone on the 32 labels it
 * has, or is distilled from the teacher's soft labels on the same 192 sequences without their
 * labels (the classic transfer-set setting). Both are scored on 96 held-out sequences.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import { DistillationTrainer, LogitKdPlugin } from '@distillery/plugins';
import { Trainer, accuracy, argmaxPredictions, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { DISTILL_DIR, keywordTask as task } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'distill-benefit-'));
// The fastest backend available: this test trains three models.
beforeAll(async () => { await initBackend({ log: false }); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const args = (name: string, epochs: number, lr: number): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), numTrainEpochs: epochs, perDeviceTrainBatchSize: 16, learningRate: lr, loggingSteps: 1000, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 11,
});

async function heldOutAccuracy(trainer: Trainer<Example, any, any>, test: Example[]): Promise<number> {
  const out = await trainer.predict(test);
  const { predicted, labels } = argmaxPredictions({ predictions: out.predictions, labelIds: out.labelIds });
  return accuracy(predicted, labels);
}

it('a distilled 2-layer student beats the same student trained without the teacher', async () => {
  const train = task(192, 1);
  const test = task(96, 2);
  const labelled = train.slice(0, 32);

  const teacher = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}teacher`, { log: false });
  const teacherTrainer = new Trainer({ model: teacher, args: args('teacher', 5, 3e-3), trainDataset: train });
  await teacherTrainer.train();
  const teacherAcc = await heldOutAccuracy(teacherTrainer, test);

  const alone = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}student`, { log: false });
  const aloneTrainer = new Trainer({ model: alone, args: args('alone', 20, 3e-3), trainDataset: labelled });
  await aloneTrainer.train();
  const aloneAcc = await heldOutAccuracy(aloneTrainer, test);

  const distilled = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}student`, { log: false });
  const transfer = train.map(({ inputIds }) => ({ inputIds }));
  const kd = new DistillationTrainer({ model: distilled, teacher, plugins: [new LogitKdPlugin({ temperature: 1, alpha: 1 })], args: args('distilled', 8, 3e-3), trainDataset: transfer });
  await kd.train();
  const distilledAcc = await heldOutAccuracy(kd, test);

  console.log(`held-out accuracy: teacher ${teacherAcc.toFixed(3)}, student alone ${aloneAcc.toFixed(3)}, distilled student ${distilledAcc.toFixed(3)}`);
  expect(teacherAcc).toBeGreaterThan(0.8);
  expect(distilledAcc).toBeGreaterThan(aloneAcc + 0.05);
  for (const m of [teacher, alone, distilled]) m.dispose();
  tf.disposeVariables();
});
