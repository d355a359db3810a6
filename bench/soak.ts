/**
 * `pnpm soak`: 2,000 distillation steps (small BERT teacher → smaller BERT student; logit KD +
 * hidden states through a trained projector + attention) on the wasm backend. Asserts that
 * tf.memory().numTensors is identical at every step end from step 200 on, and that RSS grows
 * by less than 5% between step 200 and step 2,000. Not in CI: it runs for minutes.
 *
 *   pnpm soak [--steps 2000] [--backend wasm|cpu|native]
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { AttentionPlugin, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin } from '@distillery/plugins';
import { Rng, initBackend, type BackendName, type Example } from '@distillery/trainer';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '2000' }, backend: { type: 'string', default: 'wasm' } } });
const STEPS = Number(values.steps);
const WARMUP = Math.min(200, Math.floor(STEPS / 10));
const RSS_BOUND = 0.05;
const VOCAB = 128;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

await initBackend({ backend: values.backend as BackendName });

// RSS between collections swings by tens of MiB with garbage awaiting GC; collect before each
// reading so the numbers compare what is retained. (`pnpm soak` runs without --expose-gc.)
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const retainedRss = (): number => {
  gc();
  return process.memoryUsage().rss;
};

const bert = (layers: number, hidden: number, heads: number) =>
  createConfig('bert', { vocabSize: VOCAB, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: heads, intermediateSize: 4 * hidden, maxPositionEmbeddings: 32, numLabels: 2 });
const teacher = new BertForSequenceClassification(bert(2, 64, 4), 1);
const student = new BertForSequenceClassification(bert(1, 32, 2), 2);

// Variable-length rows, so the collator pads differently from batch to batch (new shapes keep coming).
const rng = new Rng(7);
const train: Example[] = Array.from({ length: 512 }, () => {
  const ids = [2, ...Array.from({ length: 4 + rng.int(20) }, () => 4 + rng.int(VOCAB - 4)), 3];
  return { inputIds: ids, label: ids.filter((t) => t < VOCAB / 2).length * 2 > ids.length ? 1 : 0 };
});

const outputDir = mkdtempSync(join(tmpdir(), 'distillery-soak-'));
const tensorCounts: { step: number; numTensors: number }[] = [];
const rss: { step: number; rss: number; heapUsed: number }[] = [];
const trainer = new DistillationTrainer({
  model: student,
  teacher,
  plugins: [new LogitKdPlugin(), new HiddenStatePlugin(), new AttentionPlugin()],
  args: { outputDir, maxSteps: STEPS, perDeviceTrainBatchSize: 8, learningRate: 1e-3, warmupRatio: 0.05, loggingSteps: 100, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 1 },
  trainDataset: train,
});
// Added after construction so it runs after the trainer's own onStepEnd (which frees the step's loss terms).
trainer.addCallback({
  name: 'SoakProbe',
  onStepEnd: (_args, state) => {
    const step = state.globalStep;
    if (step < WARMUP) return;
    tensorCounts.push({ step, numTensors: tf.memory().numTensors });
    if (step % 200 !== 0 && step !== WARMUP && step !== STEPS) return;
    rss.push({ step, rss: retainedRss(), heapUsed: process.memoryUsage().heapUsed });
    console.log(`step ${String(step).padStart(5)}  numTensors ${tf.memory().numTensors}  rss ${mib(rss.at(-1)!.rss)}  heapUsed ${mib(rss.at(-1)!.heapUsed)}  loss ${state.logHistory.at(-1)?.loss?.toFixed(4) ?? '-'}`);
  },
});

const started = performance.now();
try {
  await trainer.train();
} finally {
  rmSync(outputDir, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;

const counts = new Set(tensorCounts.map((s) => s.numTensors));
const [first, last] = [rss[0]!, rss.at(-1)!];
const growth = (last.rss - first.rss) / first.rss;
console.log(`\n${STEPS} steps in ${seconds.toFixed(0)} s on ${tf.getBackend()} (${(STEPS / seconds).toFixed(1)} steps/s)`);
console.log(`numTensors at every step end from ${tensorCounts[0]!.step} to ${tensorCounts.at(-1)!.step}: ${[...counts].join(', ')} (${counts.size === 1 ? 'constant' : 'NOT constant'})`);
console.log(`rss after gc at step ${first.step}: ${mib(first.rss)}, at step ${last.step}: ${mib(last.rss)}, growth ${(growth * 100).toFixed(2)}% (bound ${RSS_BOUND * 100}%); heapUsed ${mib(first.heapUsed)} → ${mib(last.heapUsed)}`);

const failures = [
  ...(counts.size === 1 ? [] : [`numTensors varied: ${[...counts].join(', ')}`]),
  ...(growth < RSS_BOUND ? [] : [`RSS grew ${(growth * 100).toFixed(2)}% >= ${RSS_BOUND * 100}%`]),
];
if (failures.length > 0) {
  console.error(`SOAK FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('SOAK OK');
