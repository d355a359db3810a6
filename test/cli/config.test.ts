/**
 * Config and dataset validation of the CLI, in-process: every bad field is refused with a typed
 * error naming the file (or flag) and the field, before any model is loaded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, readSafetensors } from '@distillery/models';
import { AttentionPlugin, DistilleryPluginsError, HiddenStatePlugin, LogitKdPlugin, TinyBertPlugin, scheduleValue, type LossPlugin } from '@distillery/plugins';
import { ConfigFields, configSource, type OverrideFlag } from '../../packages/cli/src/config.js';
import { DistilleryCliError } from '../../packages/cli/src/errors.js';
import { readExamples } from '../../packages/cli/src/data.js';
import { parseDistillConfig } from '../../packages/cli/src/distill.js';
import { parseEvalConfig } from '../../packages/cli/src/eval.js';
import { parseTrainConfig } from '../../packages/cli/src/train.js';
import { VOCAB, bertConfig, writeJsonl, writeTask } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-config-'));
const task = writeTask(tmp);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TRAIN_FLAGS: readonly OverrideFlag[] = [
  { flag: 'learning-rate', path: 'training.learningRate', description: '' },
  { flag: 'train-file', path: 'data.train', description: '' },
];

/** Write `config` as `name` in tmp and read it back through the CLI's loader with `opts` as flags. */
function fields(name: string, config: object | string, opts: Record<string, unknown> = {}, flags = TRAIN_FLAGS): ConfigFields {
  const file = join(tmp, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config));
  return new ConfigFields(configSource({ config: file, ...opts }, flags));
}

/** The typed error `fn` throws. */
function caught(fn: () => unknown): DistilleryCliError | DistilleryPluginsError {
  try {
    fn();
  } catch (e) {
    // Config errors are the CLI's; an option a plugin refuses is the plugin's.
    if (e instanceof DistilleryCliError || e instanceof DistilleryPluginsError) return e;
    throw e;
  }
  throw new Error('expected a typed CLI or plugins error, nothing was thrown');
}

const trainConfig = { model: bertConfig(16, 1), tokenizer: 'tok', data: { train: 'train.jsonl' }, training: { outputDir: 'out', learningRate: 0.001 } };

describe('config files and flags', () => {
  it('reads JSON and YAML alike; file paths are relative to the file, flag paths to the working directory', () => {
    const yaml = `model: ${JSON.stringify(bertConfig(16, 1))}\ntokenizer: tok\ndata:\n  train: train.jsonl\ntraining:\n  outputDir: out\n  learningRate: 0.001\n`;
    const fromYaml = parseTrainConfig(fields('t.yaml', yaml));
    const fromJson = parseTrainConfig(fields('t.json', trainConfig));
    expect(fromYaml.data).toEqual(fromJson.data);
    expect(fromYaml.data.train).toBe(task.train);
    expect(fromYaml.tokenizer).toBe(task.tokenizer);
    expect(fromYaml.training.outputDir).toBe(join(tmp, 'out'));
    expect(fromYaml.model).toMatchObject({ modelType: 'bert', hiddenSize: 16, numHiddenLayers: 1 });

    const flagged = parseTrainConfig(fields('t.json', trainConfig, { learningRate: '3e-4', trainFile: 'package.json', set: ['training.warmupRatio=0.25', 'numLabels=3'] }));
    expect(flagged.training.learningRate).toBe(3e-4);
    expect(flagged.training.warmupRatio).toBe(0.25);
    expect(flagged.numLabels).toBe(3);
    expect(flagged.data.train).toBe(join(process.cwd(), 'package.json')); // any existing file: the path is what is checked
  });

  it('names the file and field, or the flag that set it, with the fix', () => {
    expect(caught(() => parseTrainConfig(fields('a.json', { ...trainConfig, modle: 'x' }))).message).toBe(`${join(tmp, 'a.json')}: modle is not a known field; the fields here are model, task, taskOptions, tokenizer, numLabels, data, training.`);
    expect(caught(() => parseTrainConfig(fields('b.json', { ...trainConfig, data: {} }))).message).toMatch(/b\.json: data\.train is required/);
    expect(caught(() => parseTrainConfig(fields('c.json', { ...trainConfig, data: { train: 'train.jsonl', maxLength: 2.5 } }))).message).toMatch(/c\.json: data\.maxLength must be an integer >= 3, got 2\.5/);
    expect(caught(() => parseTrainConfig(fields('d.json', trainConfig, { learningRate: 'fast' }))).message).toMatch(/^--learning-rate fast \(training\.learningRate\) must be a finite number >= 0, got "fast"/);
    expect(caught(() => parseTrainConfig(fields('e.json', { ...trainConfig, training: { outputDir: 'out', warmupSteps: -1 } }))).message).toMatch(/e\.json: training\.warmupSteps must be an integer >= 0, got -1/);
    expect(caught(() => parseTrainConfig(fields('f.json', { ...trainConfig, training: {} }))).message).toMatch(/f\.json: training\.outputDir is required/);
    const badModel = caught(() => parseTrainConfig(fields('g.json', { ...trainConfig, model: { ...bertConfig(16, 1), hidden_size: 15 } })));
    expect(badModel.code).toBe('CONFIG_INVALID');
    expect(badModel.message).toMatch(/g\.json: model: "hidden_size" \(15\) must be a multiple of "num_attention_heads"/);
    expect(caught(() => parseEvalConfig(fields('h.json', { data: { eval: 'eval.jsonl' } }, {}, []))).message).toMatch(/h\.json: model is required/);
  });

  it('refuses unreadable files, bad syntax, a non-object top and a malformed --set', () => {
    expect(caught(() => configSource({ config: join(tmp, 'missing.json') }, [])).message).toMatch(/--config .*missing\.json: cannot read it/);
    expect(caught(() => fields('bad.yaml', 'model: [unclosed')).message).toMatch(/bad\.yaml: not valid YAML/);
    expect(caught(() => fields('bad.json', '{"model": }')).message).toMatch(/bad\.json: not valid JSON/);
    expect(caught(() => fields('list.json', [1, 2])).message).toMatch(/list\.json: must hold an object at the top/);
    const usage = caught(() => fields('t2.json', trainConfig, { set: ['training.seed'] }));
    expect([usage.code, usage.message]).toEqual(['CLI_USAGE', '--set training.seed: expected path=value, e.g. --set training.learningRate=1e-4.']);
  });
});

describe('distill plugins', () => {
  const distill = (plugins: unknown, extra: object = {}) => ({
    teacher: 'no/such-hub-id', student: bertConfig(16, 1), data: { train: 'train.jsonl' }, plugins, training: { outputDir: 'student' }, ...extra,
  });

  it('builds the listed plugins with their weights, schedules and options', () => {
    const config = parseDistillConfig(fields('p.json', distill([
      { type: 'logitKd', temperature: { kind: 'linear', from: 4, to: 1 }, alpha: 0.9 },
      { type: 'hiddenState', name: 'hid', weight: { kind: 'linear', from: 0, to: 2, endStep: 10 }, layerMap: { kind: 'explicit', map: { 0: 0, 1: 2 } } },
      { type: 'attention', weight: 0.5, target: 'scores', layerMap: { kind: 'skip', every: 2 } },
    ], { teacherWeights: [1] })));
    const [kd, hidden, attention] = config.plugins as [LogitKdPlugin, HiddenStatePlugin, AttentionPlugin];
    expect(kd).toBeInstanceOf(LogitKdPlugin);
    expect(kd.settings({ step: 5, maxSteps: 10 })).toEqual({ temperature: 2.5, alpha: 0.9 });
    expect(hidden.name).toBe('hid');
    expect(scheduleValue(hidden.weight, 5, 100)).toBe(1);
    hidden.setup!({ student: { numLayers: 1, hiddenSize: 16, numHeads: 2 }, teacher: { numLayers: 2, hiddenSize: 16, numHeads: 2 }, seed: 1 });
    expect(hidden.map).toEqual([[0, 0], [1, 2]]);
    expect(attention).toBeInstanceOf(AttentionPlugin);
    expect(attention.requires()).toEqual({ attentionScores: true });
    expect(config.teacherWeights).toEqual([1]);
    expect(config.teachers).toEqual(['no/such-hub-id']);
    config.plugins.forEach((p: LossPlugin) => p.dispose?.());

    // --set reaches into the list by index and keeps the other entries.
    const set = parseDistillConfig(fields('p2.json', distill([{ type: 'logitKd' }, { type: 'cosine', weight: 1 }]), { set: ['plugins.1.weight=0.25'] }));
    expect(set.plugins.map((p) => [p.name, p.weight])).toEqual([['kd', 1], ['cosine', 0.25]]);
  });

  it('names the plugin entry and option at fault', () => {
    const msg = (plugins: unknown, extra: object = {}) => caught(() => parseDistillConfig(fields('q.json', distill(plugins, extra)))).message;
    expect(msg([])).toMatch(/q\.json: plugins must be a non-empty list .* types: logitKd, hiddenState, attention, tinyBert, miniLm, cosine, patientKd\./);
    expect(msg([{ type: 'logitKD' }])).toMatch(/plugins\[0\]\.type must be one of "logitKd", .* got "logitKD"/);
    expect(msg([{ type: 'logitKd', temprature: 2 }])).toMatch(/plugins\[0\]\.temprature is not a known field; the fields here are type, name, weight, kind, temperature, alpha, target\./);
    expect(msg([{ type: 'logitKd' }, { type: 'attention', weight: { kind: 'linear', from: 1 } }])).toMatch(/plugins\[1\]\.weight\.to must be a finite number, got nothing/);
    expect(msg([{ type: 'tinyBert', intermediateSteps: 1.5 }])).toMatch(/plugins\[0\]\.intermediateSteps must be an integer >= 0, got 1\.5/);
    expect(msg([{ type: 'hiddenState', layerMap: { kind: 'explicit', map: [[1, 2, 3]] } }])).toMatch(/plugins\[0\]\.layerMap\.map\[0\] must be a \[student, teacher\] pair/);
    expect(msg([{ type: 'logitKd' }, { type: 'logitKd' }])).toMatch(/plugins\[1\]\.name "kd" is already used by an earlier plugin/);
    expect(msg([{ type: 'logitKd' }], { teacherWeights: [1, 2] })).toMatch(/q\.json: teacherWeights must be a list of 1 numbers, one per teacher\./);
  });

  it('takes pair reductions, TinyBERT\'s own attention map and initial projector weights from a safetensors file', () => {
    const projector = new URL('../fixtures/parity/distill_losses/projector.safetensors', import.meta.url).pathname;
    const config = parseDistillConfig(fields('r.json', distill([
      { type: 'hiddenState', reduction: 'sum', projector },
      { type: 'tinyBert', reduction: 'mean', attentionLayerMap: { kind: 'explicit', map: [[0, 1], [1, 3]] }, hiddenProjector: projector },
    ])));
    const [hidden, tiny] = config.plugins as [HiddenStatePlugin, TinyBertPlugin];
    const shapes = { student: { numLayers: 2, hiddenSize: 32, numHeads: 2 }, teacher: { numLayers: 4, hiddenSize: 48, numHeads: 4 }, seed: 1 };
    hidden.setup(shapes);
    tiny.setup(shapes);
    const file = readSafetensors(projector).tensors.get('projector.weight')!;
    expect(Array.from(hidden.projector!.weight.dataSync())).toEqual(Array.from(file.data));
    expect(Array.from(tiny.hiddenProjector!.weight.dataSync())).toEqual(Array.from(file.data));
    expect(tiny.attentionMap).toEqual([[0, 1], [1, 3]]);
    expect(tiny.hiddenMap).toEqual([[1, 2], [2, 4]]);
    config.plugins.forEach((p: LossPlugin) => p.dispose?.());
    const msg = caught(() => parseDistillConfig(fields('s.json', distill([{ type: 'hiddenState', projector: 'r.json' }])))).message;
    expect(msg).toMatch(/s\.json: plugins\[0\]\.projector cannot be read as safetensors .*; give a \.safetensors file/);
    expect(caught(() => parseDistillConfig(fields('t.json', distill([{ type: 'attention', reduction: 'max' }])))).message).toMatch(/plugins\[0\]\.reduction must be one of "mean", "sum", got "max"/);
  });
});

describe('dataset files', () => {
  const options = async () => ({ tokenizer: await AutoTokenizer.fromPretrained(task.tokenizer), maxLength: 8, numLabels: 2, limits: [{ role: 'model', vocabSize: VOCAB.length, typeVocabSize: 2, positions: 64 }] });
  const file = (name: string, rows: readonly object[]) => writeJsonl(join(tmp, name), rows);

  it('tokenizes text (and text pairs), keeps pre-tokenized rows, cuts to maxLength, allows unlabelled files', async () => {
    const opts = await options();
    const { examples, labelled } = readExamples(file('ok.jsonl', [
      { text: 'the movie was good', label: 1, id: 'extra keys are ignored' },
      { inputIds: [2, 9, 3], label: 0 },
      { text: 'the plot', textPair: 'awful', label: 0 },
      { text: 'a very very very very very very long film', label: 1 },
    ]), opts);
    const tok = (w: string) => VOCAB.indexOf(w);
    expect(labelled).toBe(true);
    expect(examples[0]).toEqual({ inputIds: [2, tok('the'), tok('movie'), tok('was'), tok('good'), 3], attentionMask: [1, 1, 1, 1, 1, 1], tokenTypeIds: [0, 0, 0, 0, 0, 0], label: 1, text: 'the movie was good' });
    expect(examples[1]).toEqual({ inputIds: [2, 9, 3], label: 0 });
    // Texts stay on the examples (a teacher with its own tokenizer re-encodes them).
    expect(examples[2]).toMatchObject({ text: 'the plot', textPair: 'awful' });
    expect(examples[2]!.inputIds).toEqual([2, tok('the'), tok('plot'), 3, tok('awful'), 3]);
    expect(examples[2]!.tokenTypeIds).toEqual([0, 0, 0, 0, 1, 1]);
    expect(examples[3]!.inputIds).toHaveLength(8);
    expect(examples[3]!.inputIds.at(-1)).toBe(3);

    const array = join(tmp, 'rows.json');
    writeFileSync(array, JSON.stringify([{ text: 'good' }, { text: 'bad' }]));
    expect(readExamples(array, opts)).toMatchObject({ labelled: false, examples: [{ inputIds: [2, tok('good'), 3] }, { inputIds: [2, tok('bad'), 3] }] });
  });

  it('names the file and line of a bad row, with the fix', async () => {
    const opts = await options();
    const msg = (rows: readonly object[], o: object = {}) => caught(() => readExamples(file('bad.jsonl', rows), { ...opts, ...o })).message;
    const at = (line: number) => `${join(tmp, 'bad.jsonl')} line ${line}: `;
    expect(msg([{ text: 'good', label: 1 }, { text: 'bad', label: 2 }])).toBe(`${at(2)}label must be a class id in [0, 2), got 2; set numLabels to the number of classes.`);
    expect(msg([{ text: 'good', label: 1 }, { text: 'bad' }])).toBe(`${at(2)}has no label but the first row has one; label every row or none.`);
    expect(msg([{ label: 1 }])).toBe(`${at(1)}needs exactly one of "text" (a string) or "inputIds" (token ids).`);
    expect(msg([{ inputIds: [2, 99, 3], label: 0 }])).toMatch(new RegExp(`^${at(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}token id 99 is >= the model's vocab_size \\(22\\)`));
    expect(msg([{ inputIds: [2, 5, 3], attentionMask: [1, 1], label: 0 }])).toMatch(/line 1: attentionMask has 2 entries but inputIds has 3/);
    expect(msg([{ inputIds: Array(9).fill(5), label: 0 }])).toMatch(/line 1: has 9 inputIds, more than data\.maxLength \(8\)/);
    expect(msg([{ text: 'good', label: 'high' }], { numLabels: 1 })).toBe(`${at(1)}label must be a number (the model does regression: numLabels 1), got "high".`);
    expect(readExamples(file('reg.jsonl', [{ text: 'good', label: 0.5 }]), { ...opts, numLabels: 1 }).examples[0]!.label).toBe(0.5);
    expect(msg([{ text: 'good', label: 1 }], { tokenizer: undefined })).toMatch(/line 1: has text but no tokenizer is set; set tokenizer \(--tokenizer\)/);
    writeFileSync(join(tmp, 'broken.jsonl'), '{"text": "good", "label": 1}\n{"text": \n');
    expect(caught(() => readExamples(join(tmp, 'broken.jsonl'), opts)).message).toMatch(/broken\.jsonl line 2: not valid JSON/);
  });
});
