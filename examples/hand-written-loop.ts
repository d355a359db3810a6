/**
 * Keeping your own tfjs training loop and taking only two things from `Trainer`: its
 * `computeLoss` (the HF loss, overridable in a subclass) and its callbacks (logging cadence,
 * metrics.jsonl, your own hooks that can stop the run). The loop, the optimizer (tfjs's Adam)
 * and the batching stay exactly as they were.
 *
 *   npx tsx --conditions=distillery-source examples/hand-written-loop.ts [--short]
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Trainer, initBackend, type CallbackContext, type HookName, type ModelInputs, type TrainerCallback } from '@distillery/trainer';
import { SHORT, accuracy, keywordTask, runDir, smallBert } from './toy-task.js';

/** Trainer as a library: its loss and its callback handler, not its loop. */
class BorrowedTrainer extends Trainer {
  /** The Trainer's loss for one batch of `batchSize` examples (here its default: the model's cross-entropy). */
  loss(inputs: ModelInputs, batchSize: number, seed: number): tf.Scalar {
    return this.computeLoss(this.model, inputs, { returnOutputs: false, numItemsInBatch: batchSize, training: true, seed }) as tf.Scalar;
  }

  /** Run every callback's `hook`, as Trainer.train does at that point of its own loop. */
  fire(hook: HookName, extra: Partial<CallbackContext> = {}): Promise<void> {
    return this.callbackHandler.call(hook, this.args, this.state, this.control, { model: this.model, optimizer: this.optimizer, ...extra });
  }
}

await initBackend();
const model = smallBert(32, 2, 3);
const train = keywordTask(SHORT ? 96 : 512, 1);
const test = keywordTask(SHORT ? 64 : 256, 2);

// A callback of your own: it prints the logs and stops the run once the loss is low enough.
const stopWhenFit: TrainerCallback = {
  name: 'stopWhenFit',
  onLog: (_args, state, control, ctx) => {
    console.log(`step ${state.globalStep}: loss ${ctx.logs!.loss!.toFixed(4)}`);
    if (ctx.logs!.loss! < 0.02) control.shouldTrainingStop = true;
  },
};
const outputDir = runDir('hand-written-loop');
const maxSteps = SHORT ? 30 : 400;
// DefaultFlowCallback (always on) raises control.shouldLog every loggingSteps; reportTo jsonl adds the metrics.jsonl writer.
const trainer = new BorrowedTrainer({ model, args: { outputDir, maxSteps, loggingSteps: SHORT ? 10 : 50, reportTo: ['jsonl'], disableTqdm: true }, callbacks: [stopWhenFit] });
trainer.state.maxSteps = maxSteps;

// ---- the existing hand-written loop; the lines marked `← Trainer` are the only additions ----
const optimizer = tf.train.adam(3e-3);
const variables = [...model.namedParameters().values()];
const batchSize = 16;
let lossSinceLog = 0;
let stepsSinceLog = 0;
await trainer.fire('onTrainBegin'); // ← Trainer
for (let step = 0; step < maxSteps && !trainer.control.shouldTrainingStop; step++) { // ← Trainer: a callback may stop the run
  const batch = Array.from({ length: batchSize }, (_, i) => train[(step * batchSize + i) % train.length]!);
  const width = Math.max(...batch.map((e) => e.inputIds.length));
  const pad = (row: readonly number[], v: number) => [...row, ...Array<number>(width - row.length).fill(v)];
  const loss = tf.tidy(() => {
    const inputs: ModelInputs = {
      inputIds: tf.tensor2d(batch.map((e) => pad(e.inputIds, 0)), [batchSize, width], 'int32'), // [B, S]
      attentionMask: tf.tensor2d(batch.map((e) => pad(e.inputIds.map(() => 1), 0)), [batchSize, width], 'int32'), // [B, S]
      labels: tf.tensor1d(batch.map((e) => e.label!), 'int32'), // [B]
    };
    return optimizer.minimize(() => trainer.loss(inputs, batchSize, step), true, variables)!; // ← Trainer: its computeLoss
  });
  lossSinceLog += (await loss.data())[0]!;
  stepsSinceLog += 1;
  loss.dispose();

  trainer.state.globalStep = step + 1; // ← Trainer: the callbacks read the step from its state
  await trainer.fire('onStepEnd'); // ← Trainer: DefaultFlowCallback decides whether to log
  if (trainer.control.shouldLog) {
    const logs = { loss: lossSinceLog / stepsSinceLog };
    trainer.state.logHistory.push({ ...logs, step: step + 1 });
    await trainer.fire('onLog', { logs }); // ← Trainer: metrics.jsonl + stopWhenFit
    [lossSinceLog, stepsSinceLog] = [0, 0];
  }
}
await trainer.fire('onTrainEnd'); // ← Trainer
// ---- end of the loop ----

const logFile = join(outputDir, 'metrics.jsonl');
const lines = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').length : 0;
console.log(`stopped at step ${trainer.state.globalStep}/${maxSteps}; ${lines} log lines in ${logFile}; held-out accuracy ${(await accuracy(model, test)).toFixed(3)}; tensors alive ${tf.memory().numTensors}`);
optimizer.dispose();
model.dispose();
