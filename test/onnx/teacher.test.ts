/**
 * ONNX teachers: a TF.js teacher trained on a token-detection task is exported (fp32 and int8),
 * its ONNX copies score like it (int8 within one accuracy point), and a 2-layer student distilled
 * from the ONNX teacher alone (logit KD on an unlabelled transfer set, TeacherCache on) beats the
 * same student trained on the few labels it has. Plugins that need layers refuse clearly, naming the
 * export flag; exported with the layer outputs, the hidden-state and attention plugins give the
 * losses the TF.js teacher gives (within 1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import { AttentionPlugin, DistillationObjective, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin, MiniLmPlugin, TeacherCache, TinyBertPlugin, type DistillModel, type LossPlugin } from '@distillery/plugins';
import { Trainer, accuracy, argmaxPredictions, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { exportOnnx, OnnxTeacher } from '@distillery/onnx';
import { DISTILL_DIR, keywordTask as task, loadDistillFixture, loadDistillModels } from '../plugins/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('distillery-onnx-teacher-');
beforeAll(async () => { await initBackend({ log: false }); });
afterAll(() => tf.disposeVariables());

const args = (name: string, epochs: number): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), numTrainEpochs: epochs, perDeviceTrainBatchSize: 16, learningRate: 3e-3, loggingSteps: 1000, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 11,
});

async function trainerAccuracy(trainer: Trainer<Example, any, any>, test: Example[]): Promise<number> {
  const out = await trainer.predict(test);
  const { predicted, labels } = argmaxPredictions({ predictions: out.predictions, labelIds: out.labelIds });
  return accuracy(predicted, labels);
}

/** Accuracy of an ONNX teacher, right-padded batches of 32. */
function onnxAccuracy(teacher: OnnxTeacher, test: Example[]): number {
  let correct = 0;
  for (let i = 0; i < test.length; i += 32) {
    const rows = test.slice(i, i + 32);
    const width = Math.max(...rows.map((r) => (r.inputIds as number[]).length));
    const ids = rows.map((r) => [...(r.inputIds as number[]), ...new Array(width - (r.inputIds as number[]).length).fill(0)]);
    const mask = rows.map((r) => ids[0]!.map((_, j) => (j < (r.inputIds as number[]).length ? 1 : 0)));
    const predicted = tf.tidy(() => tf.argMax(teacher.forward({ inputIds: tf.tensor2d(ids, undefined, 'int32'), attentionMask: tf.tensor2d(mask, undefined, 'int32') }, { training: false }).logits, -1).arraySync() as number[]);
    correct += predicted.filter((p, j) => p === rows[j]!.label).length;
  }
  return correct / test.length;
}

it('an exported teacher teaches through ONNX Runtime; int8 keeps its accuracy; layer plugins refuse', async () => {
  const train = task(192, 1);
  const test = task(400, 2);
  const labelled = train.slice(0, 32);

  const teacher = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}teacher`, { log: false });
  const teacherTrainer = new Trainer({ model: teacher, args: args('teacher', 5), trainDataset: train });
  await teacherTrainer.train();
  const teacherAcc = await trainerAccuracy(teacherTrainer, test);
  const dir = join(tmp, 'teacher-onnx');
  await exportOnnx(teacher, dir, { quantize: true });
  teacher.dispose();

  const onnxTeacher = await OnnxTeacher.fromPretrained(dir);
  const int8Teacher = await OnnxTeacher.fromPretrained(dir, { dtype: 'q8' });
  const fp32Acc = onnxAccuracy(onnxTeacher, test);
  const int8Acc = onnxAccuracy(int8Teacher, test);
  await int8Teacher.dispose();

  const alone = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}student`, { log: false });
  const aloneTrainer = new Trainer({ model: alone, args: args('alone', 20), trainDataset: labelled });
  await aloneTrainer.train();
  const aloneAcc = await trainerAccuracy(aloneTrainer, test);

  const distilled = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}student`, { log: false });
  const transfer = train.map(({ inputIds }) => ({ inputIds }));
  expect(() => new DistillationTrainer({ model: distilled, teacher: onnxTeacher, plugins: [new HiddenStatePlugin()], args: args('refused', 1), trainDataset: transfer }))
    .toThrow(/model\.onnx: the graph has no hidden_states\.\{i\} outputs .*distillery export .*--hidden-states`.*logit-level plugins/);
  const cache = new TeacherCache();
  const kd = new DistillationTrainer({ model: distilled, teacher: onnxTeacher, plugins: [new LogitKdPlugin({ temperature: 1, alpha: 1 })], args: args('distilled', 8), trainDataset: transfer, distillation: { teacherCache: cache } });
  await kd.train();
  const distilledAcc = await trainerAccuracy(kd, test);
  await onnxTeacher.dispose();

  console.log(`held-out accuracy (400 rows): TF.js teacher ${teacherAcc.toFixed(4)}, ONNX fp32 ${fp32Acc.toFixed(4)}, ONNX int8 ${int8Acc.toFixed(4)}; student alone ${aloneAcc.toFixed(3)}, distilled from ONNX ${distilledAcc.toFixed(3)}; cache hits ${cache.hits}`);
  expect(teacherAcc).toBeGreaterThan(0.8);
  expect(fp32Acc).toBe(teacherAcc);
  expect(Math.abs(int8Acc - fp32Acc)).toBeLessThanOrEqual(0.01);
  // 12 batches per epoch, 8 epochs: the teacher ran in epoch 1 only.
  expect(cache.hits).toBeGreaterThan(0);
  expect(distilledAcc).toBeGreaterThan(aloneAcc + 0.05);
  for (const m of [alone, distilled]) m.dispose();
});

it('exported with its layer outputs, an ONNX teacher gives the TF.js teacher\'s hidden-state and attention losses', async () => {
  const { inputs } = loadDistillFixture();
  const { teacher, student, batch } = await loadDistillModels(DISTILL_DIR, inputs);
  const dir = join(tmp, 'teacher-layers');
  await exportOnnx(teacher, dir, { outputHiddenStates: true, outputAttentions: true, outputAttentionScores: true });
  const onnxTeacher = await OnnxTeacher.fromPretrained(dir);
  // Fresh plugins per teacher: the projectors are seeded alike, so only the teacher outputs differ.
  const plugins = (): LossPlugin[] => [
    new LogitKdPlugin({ temperature: inputs.temperature, alpha: inputs.alpha }),
    new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: inputs.hidden_layer_map }, maskPadding: true }),
    new AttentionPlugin({ layerMap: { kind: 'explicit', map: inputs.attention_layer_map } }),
    new AttentionPlugin({ name: 'scores', target: 'scores', maskPadding: true }),
    new TinyBertPlugin({ name: 'tinybert' }),
  ];
  const terms = (source: DistillModel): Map<string, number> => {
    const objective = new DistillationObjective(plugins(), source);
    objective.setup(student as DistillModel);
    const progress = { step: 0, maxSteps: 1 };
    const teacherOut = objective.teacherOutputs(batch, progress);
    const values = new Map<string, number>();
    tf.tidy(() => {
      const r = objective.compute(student as DistillModel, batch, teacherOut, progress, { training: false });
      for (const [k, v] of [['loss', r.loss] as const, ...r.terms]) values.set(k, v.arraySync() as number);
    });
    tf.dispose(teacherOut as unknown as tf.TensorContainer);
    objective.dispose();
    return values;
  };
  const before = tf.memory().numTensors;
  const tfjs = terms(teacher as DistillModel);
  const onnx = terms(onnxTeacher);
  expect(tf.memory().numTensors).toBe(before);
  expect([...onnx.keys()]).toEqual([...tfjs.keys()]);
  expect(tfjs.size).toBeGreaterThan(6);
  const worst = Math.max(...[...tfjs].map(([k, v]) => Math.abs(v - onnx.get(k)!)));
  console.log(`ONNX vs TF.js teacher: ${tfjs.size} loss terms (${[...tfjs.keys()].join(', ')}), max |Δ| ${worst.toExponential(2)}`);
  for (const [k, v] of tfjs) {
    expect(Number.isFinite(v), k).toBe(true);
    expect(Math.abs(v - onnx.get(k)!), k).toBeLessThan(1e-4);
  }
  // The layer terms are not trivially zero: the student and teacher differ.
  expect(tfjs.get('loss/hidden')!).toBeGreaterThan(1e-3);
  expect(tfjs.get('loss/attention')!).toBeGreaterThan(1e-6);
  // MiniLM reads the teacher's value weights, which an ONNX graph does not expose: one line saying what serves instead.
  // (The TF.js teacher stands in as the student: MiniLM pairs heads one to one.)
  const miniLm = new DistillationObjective([new MiniLmPlugin()], onnxTeacher);
  miniLm.setup(teacher as DistillModel);
  const progress = { step: 0, maxSteps: 1 };
  const teacherOut = miniLm.teacherOutputs(batch, progress);
  expect(() => tf.tidy(() => { miniLm.compute(teacher as DistillModel, batch, teacherOut, progress, { training: false }); }))
    .toThrow(/MiniLM: the teacher exposes no weights \(an ONNX teacher or a teacher cache\).*--hidden-states --attentions/);
  tf.dispose(teacherOut as unknown as tf.TensorContainer);
  await onnxTeacher.dispose();

  // Exported with hidden states only: the attention plugin is refused before training, naming the missing flags.
  const partial = join(tmp, 'teacher-hidden-only');
  await exportOnnx(teacher, partial, { outputHiddenStates: true });
  const hiddenOnly = await OnnxTeacher.fromPretrained(partial);
  expect(() => new DistillationObjective([new HiddenStatePlugin(), new AttentionPlugin()], hiddenOnly).setup(student as DistillModel))
    .toThrow(/the graph has no attentions\.\{i\} outputs .*--attentions`/);
  await hiddenOnly.dispose();
  for (const m of [teacher, student]) m.dispose();
  tf.dispose(batch as unknown as tf.TensorContainer);
});
