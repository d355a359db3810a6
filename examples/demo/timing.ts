/**
 * Inference speed as the table reports it: milliseconds per example for an eval-mode forward,
 * on the same examples and batch size for every model, after a warm-up batch (kernel setup and
 * first-call allocation are not the model's speed). The fastest of a few passes is kept: on a
 * shared machine the slower passes measure the neighbours, not the model.
 */
import * as tf from '@tensorflow/tfjs';
import { DataCollatorWithPadding } from '@distillery/trainer';
import type { Example, ModelInputs } from '@distillery/trainer';

export interface InferenceModel {
  forward(inputs: ModelInputs, options: { training: boolean }): { logits: tf.Tensor };
}

export interface TimingOptions {
  batchSize?: number;
  /** Examples timed (default 256): enough for a stable mean, short next to training. */
  maxExamples?: number;
  /** Timed passes over those examples (default 5). */
  repeats?: number;
}

export async function msPerExample(model: InferenceModel, examples: readonly Example[], options: TimingOptions = {}): Promise<number> {
  const { batchSize = 32, maxExamples = 256, repeats = 5 } = options;
  const collator = new DataCollatorWithPadding();
  const timed = examples.slice(0, maxExamples).map(({ inputIds, attentionMask }) => ({ inputIds, ...(attentionMask && { attentionMask }) }));
  const batches: ModelInputs[] = [];
  for (let i = 0; i < timed.length; i += batchSize) batches.push(collator.collate(timed.slice(i, i + batchSize)));
  const run = async (inputs: ModelInputs) => {
    const logits = tf.tidy(() => model.forward(inputs, { training: false }).logits);
    await logits.data(); // wait for the backend, not just the dispatch
    logits.dispose();
  };
  try {
    if (batches[0]) await run(batches[0]);
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      for (const b of batches) await run(b);
      best = Math.min(best, performance.now() - start);
    }
    return best / Math.max(1, timed.length);
  } finally {
    for (const b of batches) tf.dispose(Object.values(b));
  }
}
