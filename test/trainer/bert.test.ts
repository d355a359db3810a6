import { describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { Trainer, accuracy, argmaxPredictions } from '@distillery/trainer';
import { Rng, type Example } from '@distillery/trainer';
import { quietArgs } from './helpers/setup.js';

/** [CLS] w1..wn [SEP]; label 1 when the "keyword" token 5 occurs. Needs attention from [CLS] to every position. */
function keywordTask(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + rng.int(8);
    const words = Array.from({ length: len }, () => 6 + rng.int(26));
    const label = i % 2;
    if (label === 1) words[rng.int(len)] = 5;
    return { inputIds: [1, ...words, 2], label };
  });
}

describe('fine-tuning a small BERT', () => {
  it('reaches > 90% accuracy on a toy task in seconds', async () => {
    const config = createConfig('bert', { vocabSize: 32, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 16, numLabels: 2 });
    const model = new BertForSequenceClassification(config, 3);
    const trainer = new Trainer({
      model,
      args: quietArgs({ numTrainEpochs: 3, perDeviceTrainBatchSize: 16, learningRate: 3e-3, weightDecay: 0.01, warmupRatio: 0.1, evalStrategy: 'epoch', loggingStrategy: 'epoch' }),
      trainDataset: keywordTask(256, 1),
      evalDataset: keywordTask(96, 2),
      computeMetrics: (p) => {
        const { predicted, labels } = argmaxPredictions(p);
        return { accuracy: accuracy(predicted, labels) };
      },
    });
    const started = performance.now();
    await trainer.train();
    const seconds = (performance.now() - started) / 1000;
    const evals = trainer.state.logHistory.filter((l) => 'eval_accuracy' in l);
    console.log(`BERT toy fine-tune: ${seconds.toFixed(1)} s, eval accuracy per epoch ${evals.map((e) => e.eval_accuracy!.toFixed(3)).join(' ')}`);
    expect(evals.at(-1)!.eval_accuracy).toBeGreaterThan(0.9);
    expect(evals.at(-1)!.eval_loss!).toBeLessThan(evals[0]!.eval_loss!);
    model.dispose();
  });
});
