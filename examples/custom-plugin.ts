/**
 * Writing your own distillation loss: a plugin class, registered under LOSS_PLUGIN, collected
 * by DistillationTrainer with @injectAll next to the built-in ones. This one pulls the
 * student's [CLS] logit margin towards the teacher's (a toy "confidence matching" loss).
 *
 *   npx tsx --conditions=distillery-source examples/custom-plugin.ts [--short]
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container, inject, injectable } from 'tsyringe';
import { BertForSequenceClassification } from '@distillery/models';
import { DistillationTrainer, LOSS_PLUGIN, LogitKdPlugin, type LossContext, type LossPlugin, type OutputRequest } from '@distillery/plugins';
import { initBackend, type Example } from '@distillery/trainer';
import { SHORT } from './toy-task.js';

/** Anything the plugin needs comes through the container too. */
const MARGIN_WEIGHT = Symbol('MarginWeight');

@injectable()
class MarginMatchingPlugin implements LossPlugin {
  readonly name = 'margin';
  constructor(@inject(MARGIN_WEIGHT) readonly weight: number) {}

  requires(): OutputRequest {
    return { logits: true }; // no hidden states or attentions: the forwards skip them
  }

  compute(ctx: LossContext): tf.Scalar {
    // Margin = top logit minus the mean logit, per example: [B].
    const margin = (logits: tf.Tensor) => tf.sub(tf.max(logits, -1), tf.mean(logits, -1));
    return tf.mean(tf.squaredDifference(margin(ctx.student.logits), margin(ctx.teacher.logits)));
  }
}

async function main(): Promise<void> {
  await initBackend();
  const fixtures = new URL('../test/fixtures/parity/distill_losses/', import.meta.url).pathname;
  const teacher = await BertForSequenceClassification.fromPretrained(`${fixtures}teacher`, { log: false });
  const student = await BertForSequenceClassification.fromPretrained(`${fixtures}student`, { log: false });

  container.register(MARGIN_WEIGHT, { useValue: 0.1 });
  container.register(LOSS_PLUGIN, { useClass: MarginMatchingPlugin });

  const examples: Example[] = Array.from({ length: 32 }, (_, i) => ({ inputIds: [2, 10 + (i % 80), 11 + ((i * 7) % 80), 3], label: i % 2 }));
  const trainer = new DistillationTrainer({
    model: student,
    teacher,
    container, // MarginMatchingPlugin comes from here ...
    plugins: [new LogitKdPlugin({ temperature: 4, alpha: 0.5 })], // ... and this one is added for this trainer only
    args: { outputDir: mkdtempSync(join(tmpdir(), 'custom-plugin-')), maxSteps: SHORT ? 8 : 64, loggingSteps: SHORT ? 4 : 16, perDeviceTrainBatchSize: 8, learningRate: 1e-3, reportTo: [] },
    trainDataset: examples,
  });
  await trainer.train();
  for (const entry of trainer.state.logHistory.filter((e) => 'loss/margin' in e)) {
    console.log(`step ${entry.step}: loss ${entry.loss!.toFixed(4)}  kd ${entry['loss/kd']!.toFixed(4)}  margin ${entry['loss/margin']!.toFixed(4)}`);
  }
}

await main();
