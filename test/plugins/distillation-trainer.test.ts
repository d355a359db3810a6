/**
 * DistillationTrainer end to end on the fixture models: frozen teacher, trained and
 * checkpointed projector, per-term logs, resume, DI collection, cache, several teachers,
 * BERT → DistilBERT and vocab mismatch.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container, inject, injectable } from 'tsyringe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, DistilBertForSequenceClassification } from '@distillery/models';
import {
  AttentionPlugin, CosinePlugin, DistillationObjective, DistillationTrainer, DistilleryPluginsError, HiddenStatePlugin, LOSS_PLUGIN, LogitKdPlugin,
  TeacherCache, type DistillModel, type LossContext, type LossPlugin, type OutputRequest,
} from '@distillery/plugins';
import { Rng, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { DISTILL_DIR } from './helpers.js';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'distill-trainer-'));

/** Token sequences over the fixtures' 99-word vocab; label = whether token 7 occurs. */
function dataset(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 4 + Math.floor(rng.next() * 8);
    const ids = [2, ...Array.from({ length: len }, () => 4 + Math.floor(rng.next() * 95)), 3];
    return { inputIds: ids, label: ids.includes(7) || ids.includes(8) ? 1 : 0 };
  });
}

const args = (name: string, extra: Partial<TrainingArgumentsInit> = {}): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), maxSteps: 4, perDeviceTrainBatchSize: 4, learningRate: 1e-3, loggingSteps: 2, saveSteps: 2,
  disableTqdm: true, reportTo: [], seed: 3, ...extra,
});

const snapshot = (vars: Map<string, tf.Variable>): Map<string, Buffer> => new Map([...vars].map(([k, v]) => [k, Buffer.from((v.dataSync() as Float32Array).slice().buffer)]));
const load = (who: 'teacher' | 'student') => BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}${who}`, { log: false });
const plugins = (): LossPlugin[] => [new LogitKdPlugin({ alpha: 0.7 }), new HiddenStatePlugin(), new AttentionPlugin()];

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });
afterAll(() => { rmSync(tmp, { recursive: true, force: true }); });

describe('DistillationTrainer', () => {
  it('keeps the teacher bit-identical, trains the projector, logs each term, restores the projector on resume', async () => {
    const teacher = await load('teacher');
    const student = await load('student');
    const before = snapshot(teacher.namedParameters());
    const train = dataset(16, 1);
    const trainer = new DistillationTrainer({ model: student, teacher, plugins: plugins(), args: args('run'), trainDataset: train });
    const projector = trainer.objective.variables();
    expect([...projector.keys()].sort()).toEqual(['hidden.projector.bias', 'hidden.projector.weight']);
    expect([...trainer.trainableVariables().keys()]).toEqual(expect.arrayContaining(['hidden.projector.weight']));
    const projBefore = snapshot(projector);
    const tensorsAtStepEnd: number[] = [];
    trainer.addCallback({ onStepEnd: () => { tensorsAtStepEnd.push(tf.memory().numTensors); } });
    await trainer.train();

    const after = snapshot(teacher.namedParameters());
    for (const [name, bytes] of before) expect(after.get(name)!.equals(bytes), `teacher ${name}`).toBe(true);
    for (const [name, bytes] of projBefore) expect(snapshot(projector).get(name)!.equals(bytes), `projector ${name} moved`).toBe(false);
    // Tensor count is flat from step to step (the first step builds optimizer moments).
    expect(new Set(tensorsAtStepEnd.slice(1)).size).toBe(1);

    const logged = trainer.state.logHistory.filter((e) => 'loss' in e);
    expect(logged.map((e) => e.step)).toEqual([2, 4]);
    for (const e of logged) {
      for (const key of ['loss/kd', 'loss/kd/soft', 'loss/kd/hard', 'loss/hidden', 'loss/attention']) expect(Number.isFinite(e[key]), `${key} at step ${e.step}`).toBe(true);
      // The logged loss is the weighted sum of the logged terms (all weights 1).
      expect(e.loss).toBeCloseTo(e['loss/kd']! + e['loss/hidden']! + e['loss/attention']!, 4);
    }
    const finalProjector = snapshot(projector);

    // Resume from step 2 with a fresh student and fresh plugins: the projector comes back from
    // the checkpoint, and exact resume reproduces the final weights.
    const student2 = await load('student');
    const resumed = new DistillationTrainer({ model: student2, teacher, plugins: plugins(), args: args('run'), trainDataset: train });
    const fresh = snapshot(resumed.objective.variables());
    await resumed.train({ resumeFromCheckpoint: join(tmp, 'run', 'checkpoint-2') });
    const end = snapshot(resumed.objective.variables());
    for (const [name, bytes] of finalProjector) {
      expect(end.get(name)!.equals(fresh.get(name)!), `${name} restored and trained`).toBe(false);
      const a = new Float32Array(end.get(name)!.buffer.slice(0));
      const b = new Float32Array(bytes.buffer.slice(0));
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!))), name).toBeLessThan(1e-6);
    }
    for (const m of [teacher, student, student2]) m.dispose();
    trainer.objective.dispose();
    resumed.objective.dispose();
  });

  it('collects plugins registered in a parent container with @injectAll, next to passed ones', async () => {
    const SCALE = Symbol('scale');
    @injectable()
    class LogitNormPlugin implements LossPlugin {
      readonly name = 'logitNorm';
      readonly weight = 1;
      constructor(@inject(SCALE) private readonly scale: number) {}
      requires(): OutputRequest { return { logits: true }; }
      compute(ctx: LossContext): tf.Scalar { return tf.mul(tf.mean(tf.square(ctx.student.logits)), this.scale); }
    }
    const parent = container.createChildContainer();
    parent.register(SCALE, { useValue: 0.5 });
    parent.register(LOSS_PLUGIN, { useClass: LogitNormPlugin });
    const teacher = await load('teacher');
    const student = await load('student');
    const trainer = new DistillationTrainer({ model: student, teacher, container: parent, plugins: [new LogitKdPlugin()], args: args('di', { maxSteps: 2 }), trainDataset: dataset(8, 2) });
    expect(trainer.objective.plugins.map((p) => p.name).sort()).toEqual(['kd', 'logitNorm']);
    await trainer.train();
    expect(trainer.state.logHistory.find((e) => 'loss' in e)?.['loss/logitNorm']).toBeGreaterThan(0);
    expect(() => new DistillationTrainer({ model: student, teacher, args: args('none'), trainDataset: dataset(4, 2) })).toThrow(DistilleryPluginsError);
    for (const m of [teacher, student]) m.dispose();
  });

  it('distils BERT into DistilBERT through the common outputs', async () => {
    const teacher = await load('teacher');
    const student = await DistilBertForSequenceClassification.fromPretrained(`${FIX}distilbert_seqcls`, { log: false });
    const trainer = new DistillationTrainer({ model: student, teacher, plugins: [...plugins(), new CosinePlugin()], args: args('distilbert', { maxSteps: 2 }), trainDataset: dataset(8, 4) });
    await trainer.train();
    const e = trainer.state.logHistory.find((x) => 'loss' in x)!;
    for (const key of ['loss/kd', 'loss/hidden', 'loss/attention', 'loss/cosine']) expect(Number.isFinite(e[key]), key).toBe(true);
    trainer.objective.dispose();
    for (const m of [teacher, student]) m.dispose();
  });

  it('refuses a teacher with another vocabulary', async () => {
    const teacher = await load('teacher');
    const other = new BertForSequenceClassification({ ...teacher.config, vocabSize: 120, hiddenSize: 32, numAttentionHeads: 2, numHiddenLayers: 2 }, 1);
    try {
      new DistillationObjective([new LogitKdPlugin()], teacher as DistillModel).setup(other as DistillModel);
      expect.unreachable();
    } catch (e) {
      expect((e as DistilleryPluginsError).code).toBe('VOCAB_MISMATCH');
      expect((e as Error).message).toMatch(/vocab_size 99.*vocab_size 120/);
    }
    for (const m of [teacher, other]) m.dispose();
  });

  it('teacher cache returns the computed outputs and enforces its limit; several teachers average soft labels', async () => {
    const teacher = await load('teacher');
    const student = await load('student');
    const batch = { inputIds: tf.tensor2d([[2, 15, 8, 3], [2, 41, 3, 0]], undefined, 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], undefined, 'int32'), labels: tf.tensor1d([0, 1], 'int32') };
    const progress = { step: 0, maxSteps: 1 };
    const cache = new TeacherCache({ dir: join(tmp, 'cache') });
    const cached = new DistillationObjective([new HiddenStatePlugin()], teacher as DistillModel, { teacherCache: cache });
    cached.setup(student as DistillModel);
    const first = cached.teacherOutputs(batch, progress);
    const second = cached.teacherOutputs(batch, progress);
    expect(cache.hits).toBe(2);
    expect(cache.misses).toBe(2);
    const a = first[0]!.hiddenStates!.map((t) => Array.from(t.dataSync()));
    expect(second[0]!.hiddenStates!.map((t) => Array.from(t.dataSync()))).toEqual(a);
    expect(cache.sizeBytes).toBeGreaterThan(0);
    const tiny = new DistillationObjective([new LogitKdPlugin()], teacher as DistillModel, { teacherCache: { maxBytes: 8 } });
    tiny.setup(student as DistillModel);
    expect(() => tiny.teacherOutputs(batch, progress)).toThrow(/CACHE|limit/);

    // Two teachers, weights [1, 0], equal one teacher; [1, 1] gives the averaged soft labels.
    const noisy = new BertForSequenceClassification({ ...teacher.config }, 5);
    const kdOf = (teachers: DistillModel[], weights?: number[]): number => {
      const o = new DistillationObjective([new LogitKdPlugin()], teachers, weights ? { teacherWeights: weights } : {});
      o.setup(student as DistillModel);
      const t = o.teacherOutputs(batch, progress);
      const v = tf.tidy(() => o.compute(student as DistillModel, batch, t, progress, { training: false }).loss.dataSync()[0]!);
      tf.dispose(t.map((x) => x.logits));
      return v;
    };
    const single = kdOf([teacher as DistillModel]);
    expect(kdOf([teacher as DistillModel, noisy as DistillModel], [1, 0])).toBeCloseTo(single, 5);
    const both = kdOf([teacher as DistillModel, noisy as DistillModel]);
    expect(Math.abs(both - single)).toBeGreaterThan(1e-4);
    for (const m of [teacher, student, noisy]) m.dispose();
    cached.dispose();
  });
});
