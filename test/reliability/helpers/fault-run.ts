/**
 * The run the fault tests interrupt (in a child process) and resume (in the test process): a
 * one-layer BERT classifier with dropout, checkpointed every 2 of 8 steps. Everything is seeded,
 * so an uninterrupted run in any process gives bit-identical weights.
 */
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { Rng, Trainer, type Example, type TrainerCallback } from '@distillery/trainer';

export const MAX_STEPS = 8;
export const SAVE_STEPS = 2;
const VOCAB = 64;

export function faultModel(): BertForSequenceClassification {
  return BertForSequenceClassification.fromConfig(
    createConfig('bert', { vocabSize: VOCAB, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32 }),
    11,
  );
}

/** Label 1 when most tokens come from the lower half of the vocabulary. */
const rng = new Rng(5);
export const faultData: Example[] = Array.from({ length: 24 }, () => {
  const ids = Array.from({ length: 3 + 2 * rng.int(4) }, () => 4 + rng.int(VOCAB - 4));
  return { inputIds: ids, label: ids.filter((t) => t < VOCAB / 2).length * 2 > ids.length ? 1 : 0 };
});

export function faultTrainer(model: BertForSequenceClassification, outputDir: string, callbacks: TrainerCallback[] = []) {
  return new Trainer({
    model,
    args: { outputDir, maxSteps: MAX_STEPS, perDeviceTrainBatchSize: 4, saveStrategy: 'steps', saveSteps: SAVE_STEPS, learningRate: 1e-2, weightDecay: 0.01, seed: 3, disableTqdm: true, reportTo: [] },
    trainDataset: faultData,
    callbacks,
  });
}

/** Copy of every weight (for bit-exact comparisons). */
export function snapshot(model: BertForSequenceClassification): Map<string, Float32Array> {
  return new Map([...model.namedParameters()].map(([k, v]) => [k, (v.dataSync() as Float32Array).slice()]));
}
