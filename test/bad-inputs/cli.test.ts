/**
 * Careless-user inputs to the `distillery` command, run through its real entry (`runCli`, the
 * code main.ts runs) in-process: a process per case would add ~1 s of tsx start-up and test
 * nothing more. Every case asserts the exit code, exactly one `error [CODE]:` line naming the
 * file/field/flag, no stack trace, no "saved" line, and that every file that existed before the
 * command is byte-identical after it.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { initBackend } from '@distillery/trainer';
import { cliInProcess } from '../helpers/cli.js';
import { hashes } from '../helpers/hashes.js';
import * as tf from '@tensorflow/tfjs';
import { savePretrainedFolder } from '../../packages/cli/src/models.js';
import { checkOutputDir, checkOutputFile, writeFailed, writeFileAtomic } from '../../packages/cli/src/output-path.js';
import { readTextFile } from '../../packages/cli/src/text-file.js';
import { VOCAB, writeJsonl, writeTask } from '../cli/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-bad-cli-'));
const task = writeTask(tmp);
const teacher = join(tmp, 'teacher');
const other = join(tmp, 'other-model');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny random BERT saved as an HF folder with the task's tokenizer. */
async function modelFolder(dir: string, overrides: Record<string, number> = {}): Promise<void> {
  const model = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 32, ...overrides }));
  await model.savePretrained(dir);
  model.dispose();
  for (const f of readdirSync(task.tokenizer)) copyFileSync(join(task.tokenizer, f), join(dir, f));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  await modelFolder(teacher);
  await modelFolder(other);
});

const cli = cliInProcess;

/** Run a case that must fail with `code`: one typed line matching `mentions`, no stack, nothing saved, `guarded` byte-identical. */
async function refused(args: string[], code: string, mentions: RegExp, guarded: string[] = [tmp]): Promise<string> {
  const before = guarded.map(hashes);
  const r = await cli(...args);
  expect(r.code).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error ['));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code}\\]: `));
  expect(lines[0]).toMatch(mentions);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout).not.toMatch(/saved/);
  guarded.forEach((g, i) => expect(hashes(g)).toEqual(before[i]));
  return lines[0]!;
}

const TRAIN = (outputDir: string, ...more: string[]): string[] => [
  'train', '--model', other, '--train-file', task.train, '--max-length', '16', '--max-steps', '1', '--batch-size', '8',
  '--output-dir', outputDir, '--set', 'training.reportTo=[]', '--set', 'training.disableTqdm=true', ...more,
];
const DISTILL = (outputDir: string, ...more: string[]): string[] => [
  'distill', '--teacher', teacher, '--student', other, '--train-file', task.train, '--max-length', '16', '--max-steps', '1',
  '--output-dir', outputDir, '--set', 'plugins=[{"type":"logitKd"}]', '--set', 'training.reportTo=[]', '--set', 'training.disableTqdm=true', ...more,
];

describe('output paths: refused before any work, nothing that existed is touched', () => {
  it('an outputDir that is an existing file, or lies under one', async () => {
    const file = join(tmp, 'notes.txt');
    writeFileSync(file, 'my notes\n');
    await refused(TRAIN(file), 'OUTPUT_PATH_INVALID', /--output-dir .*notes\.txt \(training\.outputDir\): .*is a file, not a folder/);
    await refused(TRAIN(join(file, 'run')), 'OUTPUT_PATH_INVALID', /lies under .*notes\.txt, which is a file/);
    // Not writable even for root: a pseudo file system (Node's recursive mkdir would spin there forever).
    await refused(TRAIN('/proc/distillery-run'), 'OUTPUT_PATH_INVALID', /--output-dir \/proc\/distillery-run \(training\.outputDir\): cannot create files in \/proc \(ENOENT/);
    await refused(['eval', '--model', other, '--data', task.eval, '--json', '/proc/distillery.json'], 'OUTPUT_PATH_INVALID', /cannot create files in \/proc/);
  });

  it('an outputDir equal to, inside, or a symlink to the teacher folder', async () => {
    await refused(DISTILL(teacher), 'OUTPUT_PATH_INVALID', /--output-dir .* is the teacher folder .* which this command reads/);
    await refused(DISTILL(join(teacher, 'student')), 'OUTPUT_PATH_INVALID', /is inside the teacher folder/);
    const link = join(tmp, 'link-to-teacher');
    symlinkSync(teacher, link);
    await refused(DISTILL(join(link, 'out')), 'OUTPUT_PATH_INVALID', /is inside the teacher folder/);
    await refused(DISTILL(join(tmp, 'fresh'), '--set', `training.loggingDir=${join(teacher, 'tb')}`), 'OUTPUT_PATH_INVALID', /--set training\.loggingDir=.* \(training\.loggingDir\): .* is inside the teacher folder/);
    // The model being fine-tuned is an input too.
    await refused(TRAIN(other), 'OUTPUT_PATH_INVALID', /is the model folder/);
  });

  it('a second run into a non-empty outputDir is refused unless --overwrite-output-dir', async () => {
    const done = join(tmp, 'finished-run');
    await modelFolder(done);
    const line = await refused(TRAIN(done), 'OUTPUT_PATH_INVALID', /finished-run is not empty \(.*config\.json.*\).*--overwrite-output-dir/);
    expect(line).toContain('(training.outputDir)');
    // With a config file, the message names the file and field.
    const cfg = join(tmp, 'run.json');
    writeFileSync(cfg, JSON.stringify({ model: other, data: { train: task.train }, training: { outputDir: 'finished-run', maxSteps: 1 } }));
    await refused(['train', '--config', cfg], 'OUTPUT_PATH_INVALID', new RegExp(`^error \\[OUTPUT_PATH_INVALID\\]: ${cfg.replace(/[.]/g, '\\.')}: training\\.outputDir: `));
    const r = await cli(...TRAIN(done, '--overwrite-output-dir'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^train: 1 steps, saved /);
  });

  it('--overwrite-output-dir never appends the run\'s log to a metrics.jsonl of the user\'s', async () => {
    const dir = join(tmp, 'lab-notes');
    mkdirSync(dir);
    writeFileSync(join(dir, 'metrics.jsonl'), 'week 1: the model learns\n');
    const line = await refused(TRAIN(dir, '--overwrite-output-dir', '--set', 'training.reportTo=["jsonl"]'), 'OUTPUT_PATH_INVALID', /the metrics log .*lab-notes\/metrics\.jsonl already exists and is not a metrics log a Trainer wrote; nothing was written to it/);
    expect(line).not.toContain('\n');
    expect(readdirSync(dir)).toEqual(['metrics.jsonl']);
  });

  it('eval --json naming a folder, a model file, a dataset, or a device', async () => {
    const evalArgs = (json: string): string[] => ['eval', '--model', other, '--data', task.eval, '--max-length', '16', '--json', json];
    await refused(evalArgs(tmp), 'OUTPUT_PATH_INVALID', /--json .* \(output\): .* is a folder; name a file/);
    await refused(evalArgs(join(teacher, 'model.safetensors')), 'OUTPUT_PATH_INVALID', /model\.safetensors already exists and is a model\/tokenizer file/);
    await refused(evalArgs(join(other, 'results.json')), 'OUTPUT_PATH_INVALID', /is inside the model folder/);
    await refused(evalArgs(task.train), 'OUTPUT_PATH_INVALID', /train\.jsonl is the data\.train file|train\.jsonl already exists and is not a report/);
    await refused(evalArgs(task.eval), 'OUTPUT_PATH_INVALID', /eval\.jsonl is the data\.eval file/);
    // Its own earlier report is replaced; any other JSON file is not.
    const report = join(tmp, 'reports', 'eval.json');
    for (let run = 0; run < 2; run++) expect((await cli(...evalArgs(report))).code).toBe(0);
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ examples: 48 });
    const mine = join(tmp, 'settings.json');
    writeFileSync(mine, '{"theme": "dark"}');
    await refused(evalArgs(mine), 'OUTPUT_PATH_INVALID', /settings\.json already exists and is not a report this command wrote/);
    const cfg = join(tmp, 'eval.json');
    writeFileSync(cfg, JSON.stringify({ model: other, data: { eval: task.eval, maxLength: 16 } }));
    await refused(['eval', '--config', cfg, '--json', cfg], 'OUTPUT_PATH_INVALID', /eval\.json is the --config file/);
    await refused(evalArgs('/dev/full'), 'OUTPUT_PATH_INVALID', /\/dev\/full exists and is not a regular file/);
  });

  it('forward --out into the model folder, or onto its inputs file', async () => {
    const inputs = join(tmp, 'inputs.json');
    writeFileSync(inputs, JSON.stringify({ input_ids: [[2, 5, 3]] }));
    await refused(['forward', '--model', teacher, '--inputs', inputs, '--out', join(teacher, 'report.json')], 'OUTPUT_PATH_INVALID', /^error \[OUTPUT_PATH_INVALID\]: --out .*: .* inside the model folder/);
    await refused(['forward', '--model', teacher, '--inputs', inputs, '--out', inputs], 'OUTPUT_PATH_INVALID', /is the --inputs file/);
  });
});

describe('runs that learned nothing fail: non-zero exit, no "saved" line, no model written', () => {
  it('a teacher with NaN weights: every step skipped → NO_PROGRESS, the output folder holds no model', async () => {
    const nanTeacher = join(tmp, 'nan-teacher');
    await modelFolder(nanTeacher);
    const model = await BertForSequenceClassification.fromPretrained(nanTeacher, { log: false });
    const [name, weight] = [...model.namedParameters()].find(([n]) => n.startsWith('classifier.'))!;
    weight.assign(tf.fill([...weight.shape], NaN));
    await model.savePretrained(nanTeacher);
    model.dispose();
    const out = join(tmp, 'nan-run');
    const line = await refused(['distill', '--teacher', nanTeacher, '--student', other, '--train-file', task.train, '--max-length', '16', '--max-steps', '4',
      '--output-dir', out, '--set', 'plugins=[{"type":"logitKd","alpha":1}]', '--set', 'training.loggingSteps=2', '--set', 'training.saveSteps=2', '--set', 'training.reportTo=[]', '--set', 'training.disableTqdm=true'],
    'NO_PROGRESS', /every optimizer step from 1 to 2 had a non-finite loss or gradient/);
    expect(line).not.toContain(name); // one line, no dump
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    expect(existsSync(out) ? readdirSync(out).filter((f) => f.startsWith('checkpoint-')) : []).toEqual([]);
  });

  it('a model whose weights went NaN is never saved as the result (RUN_FAILED)', async () => {
    const model = await BertForSequenceClassification.fromPretrained(other, { log: false });
    const weight = [...model.namedParameters().values()][0]!;
    weight.assign(tf.fill([...weight.shape], Infinity));
    const dir = join(tmp, 'inf-result');
    await expect(savePretrainedFolder(model, undefined, dir)).rejects.toMatchObject({ code: 'RUN_FAILED', message: expect.stringContaining(`nothing saved to ${dir}`) });
    expect(existsSync(dir)).toBe(false);
    model.dispose();
  });
});

describe('forward inputs: ragged or out-of-table rows refused by position', () => {
  const inputs = (name: string, json: unknown): string => {
    const file = join(tmp, name);
    writeFileSync(file, JSON.stringify(json));
    return file;
  };
  const forward = (file: string): string[] => ['forward', '--model', teacher, '--inputs', file, '--out', join(tmp, 'fwd', 'out.json')];

  it('ragged input_ids, a mask of another shape, ids beyond vocab_size / type_vocab_size / positions', async () => {
    await refused(forward(inputs('ragged.json', { input_ids: [[2, 5, 3], [2, 3]] })), 'DATA_INVALID', /--inputs .*ragged\.json: input_ids\[1\] has 2 entries but row 0 has 3/);
    await refused(forward(inputs('mask.json', { input_ids: [[2, 5, 3]], attention_mask: [[1, 1]] })), 'DATA_INVALID', /attention_mask\[0\] has 2 entries but input_ids rows have 3/);
    await refused(forward(inputs('vocab.json', { input_ids: [[2, 500, 3]] })), 'DATA_INVALID', /input_ids\[0\]\[1\] is 500, beyond the vocab_size \(22\)/);
    await refused(forward(inputs('types.json', { input_ids: [[2, 5, 3]], token_type_ids: [[0, 0, 2]] })), 'DATA_INVALID', /token_type_ids\[0\]\[2\] is 2, beyond the type_vocab_size \(2\)/);
    await refused(forward(inputs('long.json', { input_ids: [Array(40).fill(5)] })), 'DATA_INVALID', /rows have 40 tokens but .* has positions for 32/);
    await refused(forward(inputs('labels.json', { input_ids: [[2, 5, 3]], labels: [0, 1] })), 'DATA_INVALID', /labels must be a list with one entry per input_ids row \(1\)/);
    expect(existsSync(join(tmp, 'fwd'))).toBe(false);
  });
});

describe('data rows fit BOTH models: ids, token types and lengths checked against teacher and student, by file and line', () => {
  it('a teacher with fewer token types or positions than the student; a smaller vocab is a tokenizer mismatch, named before the rows', async () => {
    const narrow = join(tmp, 'narrow-teacher');
    await modelFolder(narrow, { typeVocabSize: 1, maxPositionEmbeddings: 8 });
    const smallVocab = join(tmp, 'small-vocab-teacher');
    await modelFolder(smallVocab, { vocabSize: 12 });
    const rows = writeJsonl(join(tmp, 'rows.jsonl'), [{ inputIds: [2, 5, 3], label: 0 }, { inputIds: [2, 20, 3], label: 1 }]);
    const pairs = writeJsonl(join(tmp, 'pairs.jsonl'), [{ inputIds: [2, 5, 3], tokenTypeIds: [0, 0, 1], label: 0 }]);
    const run = (teacherDir: string, train: string, maxLength: string): string[] => [
      'distill', '--teacher', teacherDir, '--student', other, '--train-file', train, '--max-length', maxLength, '--max-steps', '1',
      '--output-dir', join(tmp, 'never'), '--set', 'plugins=[{"type":"logitKd"}]', '--tokenizer', task.tokenizer,
    ];
    await refused(run(narrow, rows, '16'), 'CONFIG_INVALID', /--max-length 16 \(data\.maxLength\) is 16 but the teacher has positions for 8 tokens/);
    await refused(run(narrow, pairs, '8'), 'DATA_INVALID', /pairs\.jsonl line 1: token type id 1 is >= the teacher's type_vocab_size \(1\)/);
    // A teacher vocabulary of 12 beside the student's 22: another tokenizer, so the line names the flag for that.
    await refused(run(smallVocab, rows, '8'), 'VOCAB_MISMATCH', /teacher vocab_size 12 \(bert\) differs from student vocab_size 22 .*--teacher-tokenizer /);
  });
});

describe('text files: strict UTF-8', () => {
  const bytes = (name: string, ...parts: Array<string | number[]>): string => {
    const file = join(tmp, name);
    writeFileSync(file, Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))));
    return file;
  };

  it('a UTF-8 BOM is dropped: the file reads as without it', () => {
    const rows = '{"text": "good", "label": 1}\n';
    expect(readTextFile(bytes('bom.jsonl', [0xef, 0xbb, 0xbf], rows), { hint: 'data.train' })).toBe(rows);
  });

  it('a UTF-16 BOM and invalid UTF-8 are refused with file and line, through the CLI too', async () => {
    const utf16 = bytes('utf16.jsonl', [0xff, 0xfe], '{');
    expect(() => readTextFile(utf16, { hint: 'data.train' })).toThrow(/utf16\.jsonl: starts with a UTF-16 LE byte-order mark/);
    const latin1 = bytes('latin1.jsonl', '{"text": "good", "label": 1}\n{"text": "caf', [0xe9], '", "label": 0}\n');
    await refused(TRAIN(join(tmp, 'never'), '--train-file', latin1), 'DATA_INVALID', /latin1\.jsonl line 2: is not valid UTF-8 \(byte 0xe9 at column 14\)/);
    const cfg = bytes('latin1.yaml', 'model: caf', [0xe9], '\n');
    await refused(['train', '--config', cfg], 'CONFIG_INVALID', /latin1\.yaml line 1: is not valid UTF-8/);
  });
});

describe('config: every field checked up front, named by file (or the flag that set it) and field', () => {
  const config = (name: string, body: object | string): string => {
    const file = join(tmp, name);
    writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
    return file;
  };
  const distill = (plugins: unknown, training: object = {}): object => ({
    teacher: teacher, student: other, data: { train: task.train }, plugins, training: { outputDir: 'never', maxSteps: 1, ...training },
  });
  const at = (file: string, field: string): RegExp => new RegExp(`^error \\[CONFIG_INVALID\\]: ${file.replace(/[.]/g, '\\.')}: ${field.replace(/[.[\]]/g, '\\$&')} `);

  it('plugin options and every point of their schedules: weights >= 0, alpha in [0, 1], temperatures > 0', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [[{ type: 'logitKd', weight: -1 }], 'plugins[0].weight', /must be in \[0, 1000000\], got -1\./],
      [[{ type: 'hiddenState', weight: 1 }, { type: 'logitKd', alpha: 1.5 }], 'plugins[1].alpha', /must be in \[0, 1\], got 1\.5\./],
      [[{ type: 'logitKd', alpha: { kind: 'linear', from: 0.5, to: 2 } }], 'plugins[0].alpha.to', /must be in \[0, 1\], got 2\./],
      [[{ type: 'logitKd', temperature: 0 }], 'plugins[0].temperature', /must be in \(0, 1000\], got 0\./],
      [[{ type: 'logitKd', temperature: { kind: 'constant', value: -2 } }], 'plugins[0].temperature.value', /must be in \(0, 1000\]/],
      [[{ type: 'attention', weight: { kind: 'linear', from: 1, to: -0.5 } }], 'plugins[0].weight.to', /must be in \[0, 1000000\]/],
      [[{ type: 'logitKd', weight: { kind: 'linear', from: 1, to: 0, startStep: 10, endStep: 5 } }], 'plugins[0].weight.endStep', /must be greater than startStep \(10\)/],
      [[{ type: 'tinyBert', temperature: -1 }], 'plugins[0].temperature', /must be in \(0, 1000\]/],
      [[{ type: 'logitKd', weight: 0 }, { type: 'hiddenState', weight: { kind: 'constant', value: 0 } }], 'plugins', /every plugin weight at 0/],
      ['logitKd', 'plugins', /must be a non-empty list/],
    ];
    for (const [plugins, field, message] of cases) {
      const file = config('distill.json', distill(plugins));
      expect(await refused(['distill', '--config', file], 'CONFIG_INVALID', at(file, field))).toMatch(message);
    }
  });

  it('a layer map beyond either model\'s layers is named with the valid range before any weights load', async () => {
    // The teacher's weights are cut short: only a check made before loading them reports the map.
    const cut = join(tmp, 'teacher-cut');
    await modelFolder(cut);
    writeFileSync(join(cut, 'model.safetensors'), readFileSync(join(cut, 'model.safetensors')).subarray(0, 200));
    const cases: Array<[unknown, string, RegExp]> = [
      [[{ type: 'hiddenState', layerMap: { kind: 'explicit', map: [[1, 4]] } }], 'plugins[0].layerMap', /\(hiddenState\): teacher index 4 is outside 0\.\.1 \(the teacher has 1 layers\)/],
      [[{ type: 'logitKd' }, { type: 'attention', layerMap: { kind: 'skip', every: 3 } }], 'plugins[1].layerMap', /\(attention\): teacher index 3 is outside 0\.\.1 \(the teacher has 1 layers\)/],
      [[{ type: 'tinyBert', attentionLayerMap: { kind: 'explicit', map: [[3, 0]] } }], 'plugins[0].attentionLayerMap', /\(tinyBert\): student index 3 is outside 0\.\.0 \(the student has 1 layers\)/],
    ];
    for (const [plugins, field, message] of cases) {
      const file = config('layers.json', { ...distill(plugins), teacher: cut });
      expect(await refused(['distill', '--config', file], 'CONFIG_INVALID', at(file, field))).toMatch(message);
    }
  });

  it('a string where a list is expected, and a word where a switch is, are refused whole', async () => {
    const file = config('list.json', distill([{ type: 'logitKd' }], { reportTo: 'jsonl' }));
    await refused(['distill', '--config', file], 'CONFIG_INVALID', /training\.reportTo must be a list, e\.g\. \["jsonl"\] or \[\], got "jsonl"\./);
    const file2 = config('switch.json', distill([{ type: 'logitKd' }], { loggingFirstStep: 'yes' }));
    await refused(['distill', '--config', file2], 'CONFIG_INVALID', /training\.loggingFirstStep must be true or false, got "yes"/);
    const file3 = config('teachers.json', { ...distill([{ type: 'logitKd' }]), teacherWeights: '1' });
    await refused(['distill', '--config', file3], 'CONFIG_INVALID', /teacherWeights must be a list of 1 numbers/);
  });

  it('kebab-case and snake_case keys, and YAML merge keys, are named with the camelCase fix; merges work', async () => {
    let file = config('kebab.yaml', `model: ${other}\ndata: { train: ${task.train} }\ntraining:\n  outputDir: never\n  learning-rate: 0.1\n`);
    await refused(['train', '--config', file], 'CONFIG_INVALID', at(file, 'training.learning-rate'));
    expect((await cli('train', '--config', file)).stderr).toMatch(/write training\.learningRate/);
    file = config('snake.json', { model: other, data: { train: task.train, max_length: 8 }, training: { outputDir: 'never' } });
    expect(await refused(['train', '--config', file], 'CONFIG_INVALID', at(file, 'data.max_length'))).toMatch(/fields are camelCase: write maxLength/);
    file = config('merge.json', { model: other, data: { train: task.train }, training: { outputDir: 'never', '<<': { maxSteps: 1 } } });
    await refused(['train', '--config', file], 'CONFIG_INVALID', at(file, 'training.<<'));
    // A real YAML merge is applied: the second plugin inherits the first's options, and its own bad alpha is named.
    file = config('merged.yaml', [
      `teacher: ${teacher}`, `student: ${other}`, `data: { train: ${task.train} }`, 'training: { outputDir: never }',
      'plugins:', '  - &kd { type: logitKd, temperature: 2, alpha: 0.5 }', '  - { <<: *kd, name: kd2, temperature: 0 }', '',
    ].join('\n'));
    await refused(['distill', '--config', file], 'CONFIG_INVALID', at(file, 'plugins[1].temperature'));
  });

  it('--set: no prototype keys, lists indexed in range, never through a value; the flag is blamed', async () => {
    const file = config('ok.json', distill([{ type: 'logitKd' }]));
    for (const [set, message] of [
      ['__proto__.polluted=1', /--set __proto__\.polluted=1: "__proto__" is not a config field/],
      ['training.constructor.prototype.polluted=1', /"constructor" is not a config field/],
      ['plugins.5.weight=1', /--set plugins\.5\.weight=1: plugins is a list of 1; index it with 0\.\.1, got "5"/],
      ['training.maxSteps.x=1', /training\.maxSteps is 1, not a section/],
      ['training..seed=1', /has an empty part/],
    ] as const) {
      await refused(['distill', '--config', file, '--set', set], 'CLI_USAGE', message);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
    await refused(['distill', '--config', file, '--set', 'plugins.0.alpha=3'], 'CONFIG_INVALID', /^error \[CONFIG_INVALID\]: --set plugins\.0\.alpha=3 \(plugins\[0\]\.alpha\) must be in \[0, 1\]/);
    await refused(['distill', '--config', file, '--set', 'training={"outputDir":"never","learningRate":"x"}'], 'CONFIG_INVALID', /^error \[CONFIG_INVALID\]: --set training=.* \(training\.learningRate\)/);
    await refused(['distill', '--config', file, '--train-file', join(tmp, 'missing.jsonl')], 'CONFIG_INVALID', /^error \[CONFIG_INVALID\]: --train-file .*missing\.jsonl \(data\.train\) names .*missing\.jsonl, which does not exist/);
    await refused(['distill', '--config', file, '--train-file', tmp], 'CONFIG_INVALID', /--train-file .* \(data\.train\) names .*, which is a folder/);
    // A count the model layer would refuse later is named as the flag that set it.
    await refused(['distill', '--config', file, '--num-labels', '100000000'], 'CONFIG_INVALID', /^error \[CONFIG_INVALID\]: --num-labels 100000000 \(numLabels\) must be an integer in \[1, 1048576\]/);
  });
});

describe('careless command lines: one CLI_USAGE line and an exit code, in-process too (no process.exit)', () => {
  it('unknown flag / command / choice, a missing value or required flag', async () => {
    await refused(['train', '--max-step', '3'], 'CLI_USAGE', /unknown option '--max-step' \(Did you mean --max-steps\?\); `distillery train --help` lists the valid ones\.$/);
    await refused(['trian'], 'CLI_USAGE', /unknown command 'trian' \(Did you mean train\?\); `distillery --help`/);
    await refused(['--backend', 'gpu', 'eval'], 'CLI_USAGE', /'--backend <name>' argument 'gpu' is invalid\. Allowed choices are .*cpu; `distillery eval --help`/);
    await refused(['eval', '--model'], 'CLI_USAGE', /option '--model <value>' argument missing/);
    await refused(['export', '--model', teacher], 'CLI_USAGE', /required option '--out <dir>' not specified; `distillery export --help`/);
    // The demo's own refusal (its child process) is carried to distillery's exit status, not lost as 0.
    await refused(['demo', '--no-such-demo-flag'], 'RUN_FAILED', /the demo \(.*examples\/demo\/demo\.ts\) exited with status 1; its message is above\.$/);
    await refused(TRAIN(join(tmp, 'never-resumed'), '--resume-from-checkpoint', task.train), 'CLI_USAGE', /--resume-from-checkpoint .*train\.jsonl: is a file; name a checkpoint-<step> folder/);
    await refused(TRAIN(join(tmp, 'never-resumed'), '--resume-from-checkpoint', join(tmp, 'no-such-run')), 'CLI_USAGE', /--resume-from-checkpoint .*no-such-run: does not exist/);
    await refused(DISTILL(join(tmp, 'never-cached'), '--teacher-cache', task.train), 'CACHE_INVALID', /teacher cache .*train\.jsonl: is a file, not the folder of shards/);
    const help = await cli('export', '--help');
    expect(help.code).toBe(0);
    expect(help.stderr).toBe('');
  });

  it('a report or cache never lands on the --config file or in a folder of the user\'s', async () => {
    const cfg = join(tmp, 'eval-run.json');
    writeFileSync(cfg, JSON.stringify({ model: other, data: { eval: task.eval, maxLength: 16 } }));
    await refused(['eval', '--config', cfg, '--json', cfg], 'OUTPUT_PATH_INVALID', /--json .*eval-run\.json \(output\): .*eval-run\.json is the --config file/);
    // cache-teacher shares its --out with other shard jobs, but not with a tokenizer folder.
    await refused(['cache-teacher', '--teacher', teacher, '--data', task.train, '--max-length', '16', '--out', task.tokenizer], 'OUTPUT_PATH_INVALID', /--out .*tok \(out\): .*tok is not empty \(.*tokenizer\.json.*\); writing there would replace or mix with those files\. Choose a new folder\.$/);
    // export offers no overwrite flag it does not have.
    await refused(['export', '--model', teacher, '--out', task.tokenizer], 'OUTPUT_PATH_INVALID', /--out .*tok: .*is not empty .*Choose a new folder\.$/);
  });
});

describe('a --task that does not match the model\'s head', () => {
  it('is refused for a model whose outputs are used as they are (eval, a teacher), not scored with a fresh head', async () => {
    await refused(['eval', '--model', other, '--data', task.eval, '--max-length', '16', '--task', 'masked-lm'], 'CONFIG_INVALID', /--model .* \(model\): has no trained weights for \d+ tensor\(s\) of BertForMaskedLM \(cls\.predictions\..*\); its head is for another task/);
    await refused(DISTILL(join(tmp, 'never-mlm'), '--task', 'masked-lm'), 'CONFIG_INVALID', /--teacher .* \(teacher\): has no trained weights .* of BertForMaskedLM/);
  });
});

describe('output-path API', () => {
  it('replaces an earlier JSON report atomically, and refuses files it did not write', () => {
    const report = join(tmp, 'api', 'report.json');
    const check = { where: '--json x', isReport: (j: Record<string, unknown>) => 'a' in j };
    expect(checkOutputFile(report, check)).toBe(report);
    writeFileAtomic(report, '{"a": 1}\n');
    expect(checkOutputFile(report, check)).toBe(report);
    writeFileAtomic(report, '{"a": 2}\n');
    expect(readFileSync(report, 'utf8')).toBe('{"a": 2}\n');
    // Another JSON file (a package.json) is not a report: refused.
    writeFileSync(join(tmp, 'api-package.json'), '{"name": "mine"}');
    expect(() => checkOutputFile(join(tmp, 'api-package.json'), check)).toThrow(/api-package\.json already exists and is not a report this command wrote/);
    expect(readdirSync(join(tmp, 'api'))).toEqual(['report.json']); // no temp left behind
    writeFileSync(join(tmp, 'api', 'notes.md'), '# mine');
    expect(() => checkOutputFile(join(tmp, 'api', 'notes.md'), check)).toThrow(/--json x: .*notes\.md already exists and is not a report this command wrote/);
    expect(() => checkOutputDir(join(tmp, 'api'), { ...check, overwrite: false })).toThrow(/is not empty \(notes\.md, report\.json\)/);
    expect(checkOutputDir(join(tmp, 'api'), { ...check, overwrite: false, resuming: true })).toBe(join(tmp, 'api'));
  });

  it('a failed write (EISDIR, ENOTDIR, ENOSPC from a real device) is one typed line naming the path, the old file intact', () => {
    const dir = join(tmp, 'api2');
    mkdirSync(join(dir, 'taken.json'), { recursive: true });
    expect(() => writeFileAtomic(join(dir, 'taken.json'), '{}')).toThrow(/^could not write .*taken\.json \((EISDIR|ENOTEMPTY|EEXIST)/);
    writeFileSync(join(dir, 'file'), 'x');
    expect(() => writeFileAtomic(join(dir, 'file', 'r.json'), '{}')).toThrow(/could not write .*file\/r\.json \((ENOTDIR|EEXIST): /);
    let full: unknown;
    try {
      writeFileSync('/dev/full', 'x');
    } catch (e) {
      full = e;
    }
    expect(writeFailed('/data/out.json', full).message).toBe('could not write /data/out.json (ENOSPC: the disk is full; free space or write elsewhere); nothing was replaced.');
    expect((writeFailed('/data/out.json', full) as Error & { code: string }).code).toBe('WRITE_FAILED');
  });
});
