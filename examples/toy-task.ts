/**
 * The small task the distillation examples share, so each example is about its objective and
 * not its data: token-id sequences labelled 1 iff they hold one of a few keyword tokens. A
 * 4-layer BERT learns it in seconds; a 2-layer student is what we distil into.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { Rng, Trainer, type Example } from '@distillery/trainer';

/** `--short` or DISTILLERY_SHORT=1: CI's quick run of every example. */
export const SHORT = process.argv.includes('--short') || process.env.DISTILLERY_SHORT === '1';

const VOCAB_SIZE = 100;
const KEYWORDS = [7, 8, 9];
const [CLS, SEP] = [2, 3];

/** `n` examples: [CLS] 6-11 random ids [SEP]; about half carry a keyword. */
export function keywordTask(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const body = Array.from({ length: 6 + rng.int(6) }, () => 10 + rng.int(VOCAB_SIZE - 10));
    if (rng.next() < 0.5) body[rng.int(body.length)] = KEYWORDS[rng.int(KEYWORDS.length)]!;
    return { inputIds: [CLS, ...body, SEP], label: body.some((t) => KEYWORDS.includes(t)) ? 1 : 0 };
  });
}

/** A randomly initialised BERT classifier over the task's 100 ids. */
export function smallBert(hiddenSize: number, numHiddenLayers: number, seed: number): BertForSequenceClassification {
  const config = createConfig('bert', { vocabSize: VOCAB_SIZE, hiddenSize, numHiddenLayers, numAttentionHeads: 4, intermediateSize: 2 * hiddenSize, maxPositionEmbeddings: 32 });
  return new BertForSequenceClassification(config, seed);
}

/** A fresh run folder under the OS temp dir. */
export function runDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `distillery-${name}-`));
}

/** The teacher every distillation example starts from: 4 layers, H=48, fine-tuned on `train`. */
export async function trainTeacher(train: Example[], epochs: number): Promise<BertForSequenceClassification> {
  const teacher = smallBert(48, 4, 1);
  // A constant rate: with so few steps, a decaying one stops the teacher short of the task.
  const args = { outputDir: runDir('teacher'), numTrainEpochs: epochs, perDeviceTrainBatchSize: 16, learningRate: 3e-3, lrSchedulerType: 'constant' as const, saveStrategy: 'no' as const, reportTo: [], disableTqdm: true };
  await new Trainer({ model: teacher, args, trainDataset: train }).train();
  return teacher;
}

/**
 * Share of `examples` the model labels right (one forward per example: the rows have different
 * lengths). The prediction is read with `await data()`: on a GPU backend it lives on the device.
 */
export async function accuracy(model: BertForSequenceClassification, examples: readonly Example[]): Promise<number> {
  let right = 0;
  for (const e of examples) {
    const predicted = tf.tidy(() => tf.argMax(model.forward({ inputIds: tf.tensor2d([[...e.inputIds]], [1, e.inputIds.length], 'int32') }).logits, -1)); // [1]
    if ((await predicted.data())[0] === e.label) right++;
    predicted.dispose();
  }
  return right / examples.length;
}
