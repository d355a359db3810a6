/**
 * The less common plugins end to end inside DistillationTrainer: MiniLM and Patient-KD train
 * the student through their own term, TinyBERT switches stage at `intermediateSteps`, and the
 * teacher cache serves a second epoch without re-running the teacher, changing nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import {
  DistillationTrainer, HiddenStatePlugin, LogitKdPlugin, MiniLmPlugin, PatientKdPlugin, TeacherCache, TinyBertPlugin,
  type DistillationOptions, type LossPlugin,
} from '@distillery/plugins';
import { Rng, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { DISTILL_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'plugins-e2e-'));

/** `n` sequences of one length over the fixtures' 99-word vocab, so padding never changes a row. */
function dataset(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const ids = [2, ...Array.from({ length: 8 }, () => 4 + Math.floor(rng.next() * 95)), 3];
    return { inputIds: ids, label: ids.includes(7) || ids.includes(8) ? 1 : 0 };
  });
}

const args = (name: string, extra: Partial<TrainingArgumentsInit> = {}): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), maxSteps: 5, perDeviceTrainBatchSize: 8, learningRate: 3e-3, loggingSteps: 1, saveStrategy: 'no',
  disableTqdm: true, reportTo: [], seed: 3, ...extra,
});

const snapshot = (vars: Map<string, tf.Variable>): Map<string, Buffer> => new Map([...vars].map(([k, v]) => [k, Buffer.from((v.dataSync() as Float32Array).slice().buffer)]));
const maxDiff = (a: Buffer, b: Buffer): number => {
  const x = new Float32Array(a.buffer.slice(0));
  const y = new Float32Array(b.buffer.slice(0));
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
};

/** The fixture teacher (4 layers, width 48, 4 heads) and a 2-layer width-32 student with as many heads, no dropout. */
async function pair(): Promise<{ teacher: BertForSequenceClassification; student: BertForSequenceClassification }> {
  const teacher = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}teacher`, { log: false });
  const student = new BertForSequenceClassification(
    { ...teacher.config, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 },
    7,
  );
  return { teacher, student };
}

/**
 * Train `plugin` alone for a few full-batch steps and check the shared invariants (teacher
 * bit-identical, flat tensor count). Returns the step logs and the student weights that moved.
 */
async function trainAlone(plugin: LossPlugin, name: string): Promise<{ logged: Array<Record<string, number>>; moved: string[] }> {
  const { teacher, student } = await pair();
  const teacherBefore = snapshot(teacher.namedParameters());
  const studentBefore = snapshot(student.namedParameters());
  const trainer = new DistillationTrainer({ model: student, teacher, plugins: [plugin], args: args(name), trainDataset: dataset(8, 1) });
  const pluginBefore = snapshot(trainer.objective.variables());
  const tensorsAtStepEnd: number[] = [];
  trainer.addCallback({ onStepEnd: () => { tensorsAtStepEnd.push(tf.memory().numTensors); } });
  await trainer.train();

  const teacherAfter = snapshot(teacher.namedParameters());
  for (const [k, bytes] of teacherBefore) expect(teacherAfter.get(k)!.equals(bytes), `teacher ${k}`).toBe(true);
  // The first step builds the optimizer moments; after that the tensor count is flat.
  expect(new Set(tensorsAtStepEnd.slice(1)).size, `numTensors per step ${tensorsAtStepEnd.join(',')}`).toBe(1);
  const studentAfter = snapshot(student.namedParameters());
  const pluginAfter = snapshot(trainer.objective.variables());
  const moved = [
    ...[...studentBefore].filter(([k, bytes]) => !studentAfter.get(k)!.equals(bytes)).map(([k]) => k),
    ...[...pluginBefore].filter(([k, bytes]) => !pluginAfter.get(k)!.equals(bytes)).map(([k]) => k),
  ];

  trainer.objective.dispose();
  for (const m of [teacher, student]) m.dispose();
  return { logged: trainer.state.logHistory.filter((e) => 'loss' in e), moved };
}

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('plugins end to end in DistillationTrainer', () => {
  it('MiniLmPlugin: attention and value-relation terms are logged and fall; the teacher stays put', async () => {
    const { logged, moved } = await trainAlone(new MiniLmPlugin(), 'minilm');
    // Gradients reach what the last layer's attention and values depend on, and nothing after them.
    expect(moved).toEqual(expect.arrayContaining(['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.output.dense.weight', ...['query', 'key', 'value'].map((p) => `bert.encoder.layer.1.attention.self.${p}.weight`)]));
    expect(moved.filter((k) => /layer\.1\.(intermediate|output)|pooler|classifier/.test(k))).toEqual([]);
    expect(logged.map((e) => e.step)).toEqual([1, 2, 3, 4, 5]);
    for (const e of logged) {
      for (const key of ['loss/minilm', 'loss/minilm/attention', 'loss/minilm/valueRelation']) expect(e[key], `${key} at step ${e.step}`).toBeGreaterThan(0);
      expect(e['loss/minilm']!).toBeCloseTo(e['loss/minilm/attention']! + e['loss/minilm/valueRelation']!, 5);
      expect(e.loss).toBeCloseTo(e['loss/minilm']!, 5);
    }
    expect(logged.at(-1)!['loss/minilm']!).toBeLessThan(logged[0]!['loss/minilm']!);
  });

  it('PatientKdPlugin: its term is logged and falls; projector and student train, the teacher stays put', async () => {
    const plugin = new PatientKdPlugin();
    const { logged, moved } = await trainAlone(plugin, 'pkd');
    // PKD-skip over a 2-layer student leaves one intermediate pair, projected 32 → 48.
    expect(plugin.map).toEqual([[1, 2]]);
    expect(plugin.projector).toBeDefined();
    // That pair reads layer 0's output: the embeddings and layer 0 train, layer 1 gets no gradient.
    expect(moved).toEqual(expect.arrayContaining(['pkd.projector.weight', 'bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.output.dense.weight']));
    expect(moved.filter((k) => !/^pkd\.projector|embeddings|layer\.0\./.test(k))).toEqual([]);
    for (const e of logged) expect(e['loss/pkd'], `loss/pkd at step ${e.step}`).toBeGreaterThan(0);
    expect(logged.at(-1)!['loss/pkd']!).toBeLessThan(logged[0]!['loss/pkd']!);
  });

  it('TinyBertPlugin with intermediateSteps: intermediate terms up to the switch, then the prediction term only', async () => {
    const { teacher, student } = await pair();
    const plugin = new TinyBertPlugin({ intermediateSteps: 2 });
    const trainer = new DistillationTrainer({ model: student, teacher, plugins: [plugin], args: args('tinybert', { maxSteps: 4 }), trainDataset: dataset(8, 2) });
    const tensorsAtStepEnd: number[] = [];
    trainer.addCallback({ onStepEnd: () => { tensorsAtStepEnd.push(tf.memory().numTensors); } });
    await trainer.train();
    // Flat within each stage. The first prediction step is the first to reach the pooler and
    // classifier, so AdamW creates their two moments then; nothing else is added.
    const newlyTrained = [...student.namedParameters().keys()].filter((k) => /pooler|classifier/.test(k)).length;
    expect(tensorsAtStepEnd[1], 'intermediate stage').toBe(tensorsAtStepEnd[0]);
    expect(tensorsAtStepEnd[2]! - tensorsAtStepEnd[1]!, 'at the switch').toBe(2 * newlyTrained);
    expect(tensorsAtStepEnd[3], 'prediction stage').toBe(tensorsAtStepEnd[2]);
    const logged = trainer.state.logHistory.filter((e) => 'loss' in e);
    const intermediate = ['loss/tinybert/embedding', 'loss/tinybert/hidden', 'loss/tinybert/attention'];
    const stageOf = (e: Record<string, number>): string => {
      const hasIntermediate = intermediate.every((k) => k in e);
      const hasPrediction = 'loss/tinybert/prediction' in e;
      return hasIntermediate && !hasPrediction ? 'intermediate' : hasPrediction && !intermediate.some((k) => k in e) ? 'prediction' : 'mixed';
    };
    // Logged after steps 1..4; steps 1 and 2 ran at progress.step 0 and 1 < intermediateSteps.
    expect(logged.map((e) => [e.step, stageOf(e)])).toEqual([[1, 'intermediate'], [2, 'intermediate'], [3, 'prediction'], [4, 'prediction']]);
    for (const e of logged) {
      const parts = stageOf(e) === 'intermediate' ? intermediate : ['loss/tinybert/prediction'];
      expect(e['loss/tinybert']!).toBeCloseTo(parts.reduce((a, k) => a + e[k]!, 0), 4);
    }
    trainer.objective.dispose();
    for (const m of [teacher, student]) m.dispose();
  });

  it('TeacherCache: the second epoch is served from the cache, and training matches a run without it', async () => {
    const run = async (distillation: DistillationOptions) => {
      const { teacher, student } = await pair();
      let teacherCalls = 0;
      const forward = teacher.forward.bind(teacher);
      teacher.forward = (...a: Parameters<typeof forward>) => { teacherCalls += 1; return forward(...a); };
      const trainer = new DistillationTrainer({
        model: student, teacher, plugins: [new LogitKdPlugin({ alpha: 0.5 }), new HiddenStatePlugin()], distillation,
        // Two batches per epoch, two epochs.
        args: args('cache', { maxSteps: -1, numTrainEpochs: 2, perDeviceTrainBatchSize: 4 }), trainDataset: dataset(8, 3),
      });
      const callsAtStep: number[] = [];
      teacherCalls = 0; // setup's shape probe is not a training forward
      trainer.addCallback({ onStepEnd: () => { callsAtStep.push(teacherCalls); } });
      await trainer.train();
      const losses = trainer.state.logHistory.filter((e) => 'loss' in e && Number.isFinite(e.loss)).map((e) => e.loss!);
      const weights = snapshot(student.namedParameters());
      trainer.objective.dispose();
      for (const m of [teacher, student]) m.dispose();
      return { callsAtStep, losses, weights };
    };

    const cache = new TeacherCache();
    const cached = await run({ teacherCache: cache });
    // Epoch 1 runs the teacher once per batch; epoch 2 never does.
    expect(cached.callsAtStep).toEqual([1, 2, 2, 2]);
    expect(cache.misses).toBe(8);
    expect(cache.hits).toBe(8);

    const plain = await run({});
    expect(plain.callsAtStep).toEqual([1, 2, 3, 4]);
    expect(cached.losses).toHaveLength(4);
    cached.losses.forEach((l, i) => expect(Math.abs(l - plain.losses[i]!), `loss at step ${i + 1}`).toBeLessThan(1e-6));
    for (const [k, bytes] of plain.weights) expect(maxDiff(cached.weights.get(k)!, bytes), k).toBeLessThan(1e-6);
  });
});
