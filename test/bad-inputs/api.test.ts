/**
 * The library misused by an outside client, through the public barrels (what the packed
 * tarballs export): wrong argument types and values to the public functions and classes must
 * throw the package's typed Error subclass (name, `code`, a message naming the argument and the
 * fix), never a raw TypeError from deep inside tfjs and never a silent wrong result; files that
 * existed before the call stay byte-identical.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification, createConfig, writeWordPieceTokenizer } from '@distillery/models';
import { AttentionPlugin, DistillationObjective, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin, TinyBertPlugin } from '@distillery/plugins';
import { AdamW, DataCollatorWithPadding, EarlyStoppingCallback, Trainer, TrainingArguments, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { hashes } from '../helpers/hashes.js';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-api-misuse-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const at = (name: string): string => join(tmp, name);

const tiny = (layers = 2): BertForSequenceClassification =>
  BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 30, hiddenSize: 8, numHiddenLayers: layers, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 16 }));
const rows: Example[] = Array.from({ length: 8 }, (_, i) => ({ inputIds: [2, 5 + i, 6, 3], label: i % 2 }));
const quiet = (name: string): TrainingArgumentsInit => ({ outputDir: at(name), maxSteps: 1, perDeviceTrainBatchSize: 4, reportTo: [], disableTqdm: true, saveStrategy: 'no' });

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const model = tiny();
  await model.savePretrained(at('model'));
  model.dispose();
  writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'good', 'bad'], at('tok'));
  writeFileSync(at('notes.txt'), 'my notes\n');
  mkdirSync(at('no-config'));
  writeFileSync(at('no-config/readme.md'), '# not a model\n');
  mkdirSync(at('project'));
  writeFileSync(at('project/config.json'), JSON.stringify({ editor: { tabSize: 2 } }));
  writeFileSync(at('project/model.safetensors'), 'not safetensors at all');
});

/** `call` must throw (or reject with) a Distillery*Error with a code, whose message matches `mentions`; files under tmp unchanged. */
async function misuse(call: () => unknown, mentions: RegExp): Promise<Error & { code: string }> {
  const before = hashes(tmp);
  let thrown: unknown;
  try {
    await call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'no error thrown').toBeInstanceOf(Error);
  const e = thrown as Error & { code?: unknown };
  expect(e.name, `${e.name}: ${e.message}\n${e.stack}`).toMatch(/^Distillery\w+Error$/);
  expect(typeof e.code).toBe('string');
  expect(e.message).toMatch(mentions);
  expect(hashes(tmp)).toEqual(before);
  return e as Error & { code: string };
}

describe('models: fromPretrained / savePretrained / tokenizers', () => {
  it('fromPretrained on a missing folder, a file, a folder without config.json, and non-strings', async () => {
    await misuse(() => AutoModelForSequenceClassification.fromPretrained(at('missing')), /missing/);
    await misuse(() => AutoModelForSequenceClassification.fromPretrained(at('notes.txt')), /notes\.txt: is a file/);
    await misuse(() => AutoModelForSequenceClassification.fromPretrained(at('no-config')), /no-config: no config\.json/);
    await misuse(() => BertForSequenceClassification.fromPretrained(at('no-config')), /no-config: no config\.json/);
    for (const bad of [undefined, null, 42, {}, ['x'], '']) {
      await misuse(() => AutoModelForSequenceClassification.fromPretrained(bad as never), /fromPretrained/);
    }
    await misuse(() => AutoTokenizer.fromPretrained(at('notes.txt')), /notes\.txt/);
    await misuse(() => AutoTokenizer.fromPretrained(at('no-config')), /no-config/);
    await misuse(() => AutoTokenizer.fromPretrained(7 as never), /fromPretrained/);
  });

  it('a model, forward() and encode() with arguments of the wrong kind', async () => {
    await misuse(() => BertForSequenceClassification.fromConfig(null as never), /BertForSequenceClassification: expects a model config/);
    await misuse(() => new BertForSequenceClassification(undefined as never), /expects a model config/);
    const model = tiny();
    await misuse(() => model.forward(undefined as never), /forward\(inputs\): expects \{ inputIds/);
    await misuse(() => model.forward({ inputIds: [[2, 5, 3]] } as never), /inputIds: must be a \[batch, seqLen\] int32 tensor/);
    await misuse(() => model.forward({ inputIds: tf.tensor2d([[2, 500, 3]], undefined, 'int32') }), /id 500, outside \[0, 30\)/);
    model.dispose();
    const tokenizer = await AutoTokenizer.fromPretrained(at('tok'));
    for (const bad of [42, null, 'good']) await misuse(() => tokenizer.encode(bad as never), /encode\(\): texts must be a list of strings/);
    await misuse(() => tokenizer.encode(['good'], { textPairs: 'bad' as never }), /encode\(\): textsPairs? must be a list/);
  });

  it('savePretrained never replaces a config.json or model.safetensors it did not write, nor writes into a file', async () => {
    const model = tiny();
    await misuse(() => model.savePretrained(at('project')), /project.*config\.json.*not a model config/);
    await misuse(() => model.savePretrained(at('notes.txt')), /notes\.txt/);
    await misuse(() => model.savePretrained(12 as never), /savePretrained/);
    model.dispose();
  });
});

describe('trainer: TrainingArguments, Trainer, train()', () => {
  it('TrainingArguments and the Trainer constructor with missing or wrong arguments', async () => {
    for (const bad of [undefined, null, 'runs/x', 3]) await misuse(() => new TrainingArguments(bad as never), /TrainingArguments/);
    await misuse(() => new TrainingArguments({ outputDir: at('x'), learningRate: '1e-4' as never }), /learningRate/);
    await misuse(() => new Trainer(undefined as never), /Trainer/);
    await misuse(() => new Trainer({} as never), /args|model/);
    await misuse(() => new Trainer({ args: quiet('a') } as never), /model/);
    await misuse(() => new Trainer({ model: 'bert' as never, args: quiet('a') }), /model/);
  });

  it('a dataset of the wrong shape is refused by row and field before any step', async () => {
    const model = tiny();
    const cases: Array<[unknown, RegExp]> = [
      ['not a dataset', /trainDataset/],
      [42, /trainDataset/],
      [[], /trainDataset.*empty|no examples/],
      [[{ text: 'good' }], /inputIds/],
      [[[2, 5, 3]], /trainDataset\[0\]|row 0|example 0/],
      [[{ inputIds: 'abc', label: 0 }], /inputIds/],
      [[{ inputIds: [2, 1.5, 3], label: 0 }], /inputIds/],
      [[{ inputIds: [2, 500, 3], label: 0 }], /500|vocab/],
      [[{ inputIds: [2, 5, 3], label: 7 }], /label/],
      [[{ inputIds: [2, 5, 3], label: 'yes' }], /label/],
    ];
    for (const [dataset, mentions] of cases) {
      await misuse(() => new Trainer({ model, args: quiet('ds'), trainDataset: dataset as never }).train(), mentions);
    }
    await misuse(() => new Trainer({ model, args: quiet('ev'), trainDataset: rows }).evaluate([{ inputIds: 'x' }] as never), /inputIds/);
    model.dispose();
  });

  it('a streamed dataset\'s id beyond the vocabulary is refused by row when its batch is read, as an in-memory one is up front', async () => {
    const model = tiny();
    // Row 5 sits in the second batch of 4: the first step trains, the second batch never reaches the embedding gather.
    const streamed = (bad: Example[]): AsyncIterable<Example> => ({
      async *[Symbol.asyncIterator]() {
        yield* [...rows.slice(0, 5), ...bad, ...rows.slice(5)];
      },
    });
    const trainer = new Trainer({ model, args: { ...quiet('stream'), maxSteps: 2 }, trainDataset: streamed([{ inputIds: [2, 30, 3], label: 0 }]) });
    const e = await misuse(() => trainer.train(), /^trainDataset\[5\]\.inputIds\[1\]: 30 is beyond the model's vocabSize \(30\); tokenize with the model's tokenizer\.$/);
    expect(e.code).toBe('DATASET_INVALID');
    expect(trainer.state.globalStep).toBe(1);
    await misuse(() => new Trainer({ model, args: quiet('stream-eval') }).evaluate(streamed([{ inputIds: [2, 7, 31], label: 1 }])), /^evalDataset\[5\]\.inputIds\[2\]: 31 is beyond the model's vocabSize \(30\)/);
    model.dispose();
  });

  it('the optimizer, callbacks and collator the trainer exports, and resumeFromCheckpoint, with values out of range', async () => {
    await misuse(() => new AdamW({ beta1: 2 }), /AdamW\.beta1 must be a number in \[0, 1\)/);
    await misuse(() => new AdamW({ epsilon: 0 }), /AdamW\.epsilon/);
    await misuse(() => new AdamW({ weightDecay: Number.NaN }), /AdamW\.weightDecay/);
    await misuse(() => new EarlyStoppingCallback({ patience: -1 }), /EarlyStoppingCallback\.patience/);
    await misuse(() => new DataCollatorWithPadding().collate([]), /collate: expects a non-empty list/);
    await misuse(() => new DataCollatorWithPadding().collate('abc' as never), /collate: expects a non-empty list/);
    const model = tiny();
    await misuse(() => new Trainer({ model, args: quiet('resume'), trainDataset: rows }).train({ resumeFromCheckpoint: 42 as never }), /resumeFromCheckpoint must be true/);
    model.dispose();
  });

  it('train() called again while it runs is refused, and the running one finishes', async () => {
    const model = tiny();
    const trainer = new Trainer({ model, args: { ...quiet('twice'), maxSteps: 3 }, trainDataset: rows });
    const first = trainer.train();
    await misuse(() => trainer.train(), /already running/);
    expect((await first).globalStep).toBe(3);
    model.dispose();
  });
});

describe('plugins: options out of range, DistillationTrainer without its parts', () => {
  it('plugin options out of range are refused at construction, naming the option', async () => {
    await misuse(() => new LogitKdPlugin({ temperature: -1 }), /temperature/);
    await misuse(() => new LogitKdPlugin({ temperature: 'hot' as never }), /temperature/);
    await misuse(() => new LogitKdPlugin({ alpha: 2 }), /alpha/);
    await misuse(() => new LogitKdPlugin({ weight: -1 }), /weight/);
    await misuse(() => new LogitKdPlugin({ kind: 'zzz' as never }), /kind/);
    await misuse(() => new HiddenStatePlugin({ weight: Number.NaN }), /weight/);
    await misuse(() => new HiddenStatePlugin({ layerMap: { kind: 'zzz' } as never }), /layerMap/);
    await misuse(() => new AttentionPlugin({ layerMap: { kind: 'skip', every: 0 } }), /every/);
    await misuse(() => new TinyBertPlugin({ temperature: 0 }), /temperature/);
  });

  it('DistillationTrainer without a teacher, with no plugins, or a layer map beyond the models', async () => {
    const student = tiny();
    const teacher = tiny();
    const args = quiet('kd');
    await misuse(() => new DistillationTrainer({ model: student, plugins: [new LogitKdPlugin()], args, trainDataset: rows } as never), /teacher/);
    await misuse(() => new DistillationTrainer({ model: student, teacher: 'bert' as never, plugins: [new LogitKdPlugin()], args, trainDataset: rows }), /teacher/);
    await misuse(() => new DistillationTrainer({ model: student, teacher, plugins: ['logitKd' as never], args, trainDataset: rows }), /options\.plugins\[0\] must be a LossPlugin/);
    await misuse(() => new DistillationObjective('logitKd' as never, [teacher]), /DistillationObjective: plugins must be a list of loss plugins/);
    await misuse(() => new DistillationObjective([new LogitKdPlugin()], ['runs/teacher'] as never), /DistillationObjective: teachers\[0\] must be a model with forward\(\)/);
    // A plugin of the caller's own: its weight is checked like a built-in one's.
    const own = { name: 'mine', weight: -2, requires: () => ({ logits: true }), compute: () => tf.scalar(0) };
    await misuse(() => new DistillationTrainer({ model: student, teacher, plugins: [own], args, trainDataset: rows }), /options\.plugins\[0\] \("mine"\)\.weight must be in \[0, 1000000\], got -2/);
    await misuse(() => new DistillationTrainer({ model: student, teacher, plugins: [new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: [[1, 9]] } })], args, trainDataset: rows }), /layerMap: teacher index 9 is outside 0\.\.2/);
    student.dispose();
    teacher.dispose();
  });
});

describe('logs: the JSONL log and TensorBoard files never clobber a user\'s file, and fail as one typed error naming the path', () => {
  it('a metrics.jsonl of the user\'s, or a folder there, is refused before any step; an earlier run\'s log is continued', async () => {
    const model = tiny();
    const dir = at('logs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'metrics.jsonl'), 'my own lab notes\n');
    const args: TrainingArgumentsInit = { ...quiet('logs'), reportTo: ['jsonl'] };
    let steps = 0;
    const counting = { onStepEnd: () => void steps++ };
    await misuse(() => new Trainer({ model, args, trainDataset: rows, callbacks: [counting] }).train(), /metrics log .*logs\/metrics\.jsonl already exists and is not a metrics log/);
    expect(steps).toBe(0);
    rmSync(join(dir, 'metrics.jsonl'));
    mkdirSync(join(dir, 'metrics.jsonl'));
    expect((await misuse(() => new Trainer({ model, args, trainDataset: rows }).train(), /metrics\.jsonl is a folder/)).code).toBe('OUTPUT_PATH_INVALID');
    rmSync(join(dir, 'metrics.jsonl'), { recursive: true });
    for (let run = 0; run < 2; run++) await new Trainer({ model, args: { ...args, loggingSteps: 1 }, trainDataset: rows }).train();
    expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').filter((l) => 'loss' in JSON.parse(l))).toHaveLength(2);
    model.dispose();
  });

  it('TensorBoard: each run writes a new event file, an earlier one stays byte-identical; a loggingDir that is a file fails before any step', async () => {
    const model = tiny();
    const args: TrainingArgumentsInit = { ...quiet('tb'), reportTo: ['tensorboard'], loggingSteps: 1 };
    await new Trainer({ model, args, trainDataset: rows }).train();
    const before = hashes(at('tb'));
    await new Trainer({ model, args, trainDataset: rows }).train();
    const after = hashes(at('tb'));
    expect(after.size).toBe(before.size + 1);
    for (const [file, hash] of before) expect(after.get(file)).toBe(hash);
    let steps = 0;
    const e = await misuse(() => new Trainer({ model, args: { ...args, loggingDir: at('notes.txt') }, trainDataset: rows, callbacks: [{ onStepEnd: () => void steps++ }] }).train(), /TensorBoard event file .*notes\.txt/);
    expect(e.code).toBe('WRITE_FAILED');
    expect(steps).toBe(0);
    model.dispose();
  });
});

it('no tensors leak from refused calls', async () => {
  const before = tf.memory().numTensors;
  const model = tiny();
  await misuse(() => new Trainer({ model, args: quiet('leak'), trainDataset: [{ inputIds: 'x' }] as never }).train(), /inputIds/);
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});
