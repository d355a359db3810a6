/**
 * A generated careless-input sweep over every `distillery` subcommand. Nothing here is a
 * hand-picked case: the fields come from the CLI's own tables (commander's options of each
 * command, the "(config: path)" each override flag names, the field lists the config layer
 * prints for an unknown key, TrainingArguments' own fields, PLUGIN_TYPES' options), and each is
 * fed every value of the wrong kind for what it holds (see `mutations`). A new flag or field is
 * swept without touching this file.
 *
 * Every case must end cleanly: within CASE_SECONDS, with no stack trace, and either (a) exit 0
 * having done its job, or (b) a non-zero exit with exactly one `error [CODE]:` line that names
 * the flag, the field or the file at fault, no "saved" line, and every pre-existing file
 * byte-identical (SHA-256). Values that are wrong whatever the field means (a string for a
 * number, an empty string, NaN, a folder for a file, ...) must take (b). Runs in-process
 * through `runCli`: a process per case would add ~1 s each and test nothing more.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig, writeWordPieceTokenizer } from '@distillery/models';
import { TrainingArguments, initBackend } from '@distillery/trainer';
import { buildProgram } from '../../packages/cli/src/program.js';
import { PLUGIN_TYPES } from '../../packages/cli/src/plugin-config.js';
import { cliInProcess } from '../helpers/cli.js';
import { hashes } from '../helpers/hashes.js';
import { VOCAB, sentimentRows, writeJsonl } from '../cli/fixtures.js';

/** A case that takes longer than this counts as a hang (the machine is shared: generous). */
const CASE_SECONDS = 20;

const root = mkdtempSync(join(tmpdir(), 'distillery-sweep-'));
/** Everything a case may read; hashed around every case. */
const fixtures = join(root, 'in');
/** Fresh output folders, one per case; the only place a case may write. */
const outs = join(root, 'out');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const at = (name: string): string => join(fixtures, name);
const tokenizer = at('tok');
const train = at('train.jsonl');
const evalFile = at('eval.jsonl');
const teacher = at('teacher');
const student = at('student');
const inputs = at('inputs.json');

/** The kinds of wrong file a careless user points at, by what was expected. */
const BAD_FILES = { folder: at('a-folder'), missing: at('no-such-file.jsonl'), empty: at('empty.jsonl'), binary: at('garbage.bin') };
const BAD_MODELS = {
  file: train,
  missing: at('no-such-model'),
  'missing hub id': 'no-such-org/no-such-model',
  'empty folder': at('empty-folder'),
  'config.json of binary garbage': at('model-garbage-config'),
  'config.json with wrong field types': at('model-wrong-types'),
  'truncated model.safetensors': at('model-truncated'),
  'no model.safetensors': at('model-config-only'),
};
const BAD_TOKENIZERS = {
  file: train,
  missing: at('no-such-tokenizer'),
  'missing hub id': 'no-such-org/no-such-tokenizer',
  'empty folder': at('empty-folder'),
  'a model folder without tokenizer files': at('model-no-tokenizer'),
  'tokenizer.json of binary garbage': at('tok-garbage'),
};
/** Places an output may never go: a user's file, under it, a user's folder, an input, a pseudo file system. */
const USER_FILE = at('notes.txt');
const USER_DIR = at('my-folder');
const BAD_OUTPUTS = { 'a file': USER_FILE, 'under a file': join(USER_FILE, 'run'), 'a non-empty folder': USER_DIR, 'an input file': train, 'the model folder': student, '/proc': '/proc/distillery-sweep' };

async function modelFolder(dir: string): Promise<void> {
  const model = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 8, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 32 }));
  await model.savePretrained(dir);
  model.dispose();
  for (const f of readdirSync(tokenizer)) copyFileSync(join(tokenizer, f), join(dir, f));
}

beforeAll(async () => {
  // A hub id is never fetched: a careless name must fail here, not after a download attempt.
  process.env.HF_HUB_OFFLINE = '1';
  await initBackend({ backend: 'cpu', log: false });
  mkdirSync(fixtures, { recursive: true });
  writeWordPieceTokenizer(VOCAB, tokenizer, { modelMaxLength: 32 });
  writeJsonl(train, sentimentRows(16, 1));
  writeJsonl(evalFile, sentimentRows(8, 2));
  writeFileSync(inputs, JSON.stringify({ input_ids: [[2, 5, 6, 3]], attention_mask: [[1, 1, 1, 1]], labels: [1] }));
  await modelFolder(teacher);
  await modelFolder(student);
  mkdirSync(BAD_FILES.folder);
  writeFileSync(BAD_FILES.empty, '');
  writeFileSync(BAD_FILES.binary, Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256)));
  mkdirSync(BAD_MODELS['empty folder']);
  for (const dir of ['model-garbage-config', 'model-wrong-types', 'model-truncated', 'model-config-only']) await modelFolder(at(dir));
  writeFileSync(join(BAD_MODELS['config.json of binary garbage'], 'config.json'), readFileSync(BAD_FILES.binary));
  const config = JSON.parse(readFileSync(join(student, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(BAD_MODELS['config.json with wrong field types'], 'config.json'), JSON.stringify({ ...config, hidden_size: '8', num_hidden_layers: -2 }));
  const weights = join(BAD_MODELS['truncated model.safetensors'], 'model.safetensors');
  writeFileSync(weights, readFileSync(weights).subarray(0, 300));
  rmSync(join(BAD_MODELS['no model.safetensors'], 'model.safetensors'));
  await modelFolder(BAD_TOKENIZERS['a model folder without tokenizer files']);
  for (const f of readdirSync(tokenizer)) rmSync(join(BAD_TOKENIZERS['a model folder without tokenizer files'], f), { force: true });
  mkdirSync(BAD_TOKENIZERS['tokenizer.json of binary garbage']);
  for (const f of readdirSync(tokenizer)) copyFileSync(join(tokenizer, f), join(BAD_TOKENIZERS['tokenizer.json of binary garbage'], f));
  writeFileSync(join(BAD_TOKENIZERS['tokenizer.json of binary garbage'], 'tokenizer.json'), readFileSync(BAD_FILES.binary));
  writeFileSync(USER_FILE, 'my notes\n');
  mkdirSync(USER_DIR);
  writeFileSync(join(USER_DIR, 'thesis.tex'), '\\documentclass{article}\n');
});

// ---------------------------------------------------------------- the values fed to each field

interface Mutation {
  /** What the value is, for the report. */
  what: string;
  /** The value as JSON text (a config file holds it verbatim; a flag passes it as written, and the CLI reads flags as JSON). */
  text: string;
  /** Wrong whatever the field means: must be refused. Otherwise refusing and accepting are both fine, crashing is not. */
  wrong: boolean;
  /** A file the message may name instead of the field. */
  file?: string;
}

type Kind = 'number' | 'boolean' | 'string' | 'list' | 'object' | 'input file' | 'model' | 'tokenizer' | 'output' | 'unknown';

const json = (v: unknown): string => JSON.stringify(v);
const wrong = (what: string, text: string): Mutation => ({ what, text, wrong: true });
const either = (what: string, text: string): Mutation => ({ what, text, wrong: false });
const path = (what: string, file: string, isWrong = true): Mutation => ({ what, text: json(file), wrong: isWrong, file });

/** The values of the wrong kind for a field holding `kind`. */
function mutations(kind: Kind): Mutation[] {
  const common = [wrong('an empty string', '""'), wrong('an object with an unknown key', '{"zzz": 1}'), either('null', 'null')];
  switch (kind) {
    case 'number':
      return [...common, wrong('a word', '"abc"'), wrong('a number in quotes', '"5"'), wrong('a list', '[1]'), wrong('true', 'true'), wrong('"NaN"', '"NaN"'),
        wrong('"Infinity"', '"Infinity"'), wrong('1e400 (Infinity)', '1e400'), wrong('-1e400', '-1e400'),
        either('-1', '-1'), either('0', '0'), either('0.5', '0.5'), either('a huge integer', '9007199254740993'), either('1e20', '1e20')];
    case 'boolean':
      return [...common, wrong('"yes"', '"yes"'), wrong('1', '1'), wrong('"true" in quotes', '"true"'), wrong('a list', '[true]')];
    case 'string':
      return [...common, wrong('a number', '1'), wrong('true', 'true'), wrong('a nested list', '[[[]]]'), either('an unknown name', '"zzz-not-a-value"')];
    case 'list':
      return [...common, wrong('a word', '"abc"'), wrong('a number', '1'), either('an empty list', '[]'), either('a list of null', '[null]'), wrong('a nested list', '[[[]]]')];
    case 'object':
      return [...common, wrong('a word', '"abc"'), wrong('a number', '1'), wrong('a list', '[1]')];
    case 'input file':
      return [...common, wrong('a number', '1'), ...Object.entries(BAD_FILES).map(([what, f]) => path(what, f))];
    case 'model':
      return [...common, wrong('a number', '1'), ...Object.entries(BAD_MODELS).map(([what, f]) => path(what, f))];
    case 'tokenizer':
      return [...common, wrong('a number', '1'), ...Object.entries(BAD_TOKENIZERS).map(([what, f]) => path(what, f))];
    case 'output':
      return [wrong('an empty string', '""'), wrong('a number', '1'), wrong('an object', '{"zzz": 1}'), ...Object.entries(BAD_OUTPUTS).map(([what, f]) => path(what, f))];
    case 'unknown':
      // A field the baseline leaves out: only what no kind of field accepts.
      return [wrong('an empty string', '""'), wrong('an object with an unknown key', '{"zzz": 1}'), wrong('a nested list', '[[[]]]'), either('an unknown name', '"zzz-not-a-value"')];
  }
}

/** What a baseline value is, so the wrong kinds can be chosen. */
function kindOf(value: unknown, out: string): Kind {
  if (typeof value === 'number') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object' && value !== null) return 'object';
  if (typeof value !== 'string') return 'unknown';
  if (value.startsWith(outs) || value.startsWith(out)) return 'output';
  try {
    if (!statSync(value).isDirectory()) return 'input file';
    return existsSync(join(value, 'config.json')) ? 'model' : 'tokenizer';
  } catch {
    return 'string';
  }
}

// ---------------------------------------------------------------- the commands and their baselines

interface Baseline {
  /** A run of the command that succeeds, as config file fields; `out` is the case's fresh folder. */
  config?: (out: string) => Record<string, unknown>;
  /** ... and the flags it needs besides (or instead of) the config. */
  flags: (out: string) => string[];
}

const quietTraining = (out: string): Record<string, unknown> => ({ outputDir: join(out, 'run'), maxSteps: 1, perDeviceTrainBatchSize: 8, reportTo: [], disableTqdm: true, saveStrategy: 'no' });
const BASELINES: Record<string, Baseline> = {
  train: {
    config: (out) => ({ model: student, task: 'sequence-classification', tokenizer, numLabels: 2, data: { train, eval: evalFile, maxLength: 16 }, training: quietTraining(out) }),
    flags: () => [],
  },
  distill: {
    config: (out) => ({
      teacher, student, task: 'sequence-classification', tokenizer, numLabels: 2, data: { train, eval: evalFile, maxLength: 16 },
      plugins: [{ type: 'logitKd', temperature: 2, alpha: 0.5 }], teacherWeights: [1], training: quietTraining(out),
    }),
    flags: () => [],
  },
  eval: { config: (out) => ({ model: teacher, tokenizer, data: { eval: evalFile, maxLength: 16 }, batchSize: 8, output: join(out, 'eval.json') }), flags: () => [] },
  'cache-teacher': { config: (out) => ({ teacher, tokenizer, data: { train, maxLength: 16 }, out: join(out, 'cache'), batchSize: 8 }), flags: () => [] },
  forward: { flags: (out) => ['--model', teacher, '--inputs', inputs, '--out', join(out, 'forward.json')] },
  export: { flags: (out) => ['--model', teacher, '--out', join(out, 'onnx')] },
};

function command(name: string): ReturnType<typeof buildProgram> {
  const cmd = buildProgram().commands.find((c) => c.name() === name);
  if (!cmd) throw new Error(`no command ${name}`);
  return cmd;
}

/** The config path an override flag sets, from the "(config: path)" its help text carries. */
function configPathOf(description: string): string | undefined {
  return /\(config: ([\w.]+)\)$/.exec(description)?.[1];
}

/** `a.b[0].c` → ['a', 'b', 0, 'c']. */
const segments = (p: string): Array<string | number> => p.replace(/\[(\d+)\]/g, '.$1').split('.').map((s) => (/^\d+$/.test(s) ? Number(s) : s));

function getAt(tree: unknown, p: string): unknown {
  return segments(p).reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], tree);
}

/** A deep copy of `tree` with `p` set to a placeholder the JSON text is spliced into. */
const MARK = '\u0000mutation\u0000';
function withMark(tree: Record<string, unknown>, p: string): Record<string, unknown> {
  const copy = structuredClone(tree);
  const keys = segments(p);
  let node = copy as Record<string | number, unknown>;
  keys.slice(0, -1).forEach((key) => {
    node[key] ??= {};
    node = node[key] as Record<string | number, unknown>;
  });
  node[keys.at(-1)!] = MARK;
  return copy;
}

// ---------------------------------------------------------------- running a case

interface Outcome { label: string; problem?: string; ms: number }

let caseNumber = 0;
const freshOut = (): string => join(outs, String(caseNumber++));

/** Run argv; what is wrong with how it ended (undefined when it ended cleanly). */
async function check(label: string, argv: string[], m: Mutation, names: string[]): Promise<Outcome> {
  const before = hashes(fixtures);
  const started = performance.now();
  const r = await cliInProcess(...argv);
  const ms = performance.now() - started;
  const problems: string[] = [];
  if (ms > CASE_SECONDS * 1000) problems.push(`took ${(ms / 1000).toFixed(1)} s`);
  if (/^\s+at /m.test(r.stderr)) problems.push(`stack trace: ${r.stderr.split('\n').slice(0, 2).join(' | ')}`);
  const after = hashes(fixtures);
  const touched = [...new Set([...before.keys(), ...after.keys()])].filter((f) => before.get(f) !== after.get(f));
  if (touched.length > 0) problems.push(`changed or created ${touched.join(', ')}`);
  if (r.code === 0) {
    if (m.wrong) problems.push(`exit 0 for ${m.what}`);
  } else {
    const lines = r.stderr.split('\n').filter((l) => /^error \[/.test(l));
    if (lines.length !== 1) problems.push(`${lines.length} error lines: ${r.stderr.slice(0, 300)}`);
    else if (!/^error \[[A-Z_]+\]: /.test(lines[0]!)) problems.push(`untyped line: ${lines[0]}`);
    else if (!names.some((n) => lines[0]!.includes(n))) problems.push(`names none of ${names.join(' / ')}: ${lines[0]}`);
    if (/saved/.test(r.stdout)) problems.push('printed "saved"');
  }
  return { label, ms, ...(problems.length > 0 && { problem: problems.join('; ') }) };
}

/**
 * How a field may be named in a message: its path (or a section above it, as the config layer
 * addresses it: `file: plugins has every weight at 0`), its flag, the file or name given.
 */
function namesFor(fieldPath: string, flag: string | undefined, m: Mutation): string[] {
  const keys = fieldPath.split('.');
  const sections = keys.slice(1).map((_, n) => keys.slice(0, n + 1).join('.').replace(/\[\d+\]$/, '')).flatMap((p) => [`: ${p} `, `(${p})`]);
  const written = JSON.parse(m.text) as unknown;
  // A name or path the user wrote may be quoted back instead of the field (a missing cache folder).
  return [fieldPath, ...sections, ...(flag ? [`--${flag}`] : []), ...(m.file ? [m.file] : []), ...(typeof written === 'string' && written !== '' ? [written] : [])];
}

/** The fields the config layer lists for an unknown key in `section` ("" for the top level). */
async function fieldsListed(name: string, base: Record<string, unknown>, section: string): Promise<string[]> {
  const probe = structuredClone(base);
  if (section === '') probe.zzzUnknown = 1;
  else (getAt(probe, section) as Record<string, unknown>).zzzUnknown = 1;
  const file = join(root, `probe-${name}.json`);
  writeFileSync(file, JSON.stringify(probe));
  const r = await cliInProcess(name, '--config', file);
  const listed = /the fields (?:here )?are ([\w, ]+)\./.exec(r.stderr)?.[1];
  if (!listed) throw new Error(`${name}: no field list for an unknown key in "${section}": ${r.stderr}`);
  return listed.split(', ').map((f) => (section === '' ? f : `${section}.${f}`));
}

/** Every field of a command's config: listed by the config layer, expanded into sections, the training and plugin fields. */
async function configFields(name: string, base: Record<string, unknown>): Promise<string[]> {
  const fields: string[] = [];
  for (const field of await fieldsListed(name, base, '')) {
    if (field === 'training') fields.push(...Object.keys(new TrainingArguments({ outputDir: 'x' }).toJSON()).map((k) => `training.${k}`));
    else if (field === 'plugins') fields.push(...Object.entries(PLUGIN_TYPES).flatMap(([type, t]) => ['name', 'weight', ...Object.keys(t.options)].map((o) => `plugins[0].${o}@${type}`)), 'plugins', 'plugins[0].type');
    else if (field === 'data' || field === 'taskOptions') {
      const section = structuredClone(base);
      section[field] ??= {};
      fields.push(field, ...(await fieldsListed(name, section, field)));
    } else fields.push(field);
  }
  return fields;
}

/** The number each kind of field got (in the report), so a sweep that silently lost its fields shows. */
const counted = new Map<string, number>();

describe('generated careless-input sweep: every flag and config field of every command, every wrong kind of value', () => {
  const report: Outcome[] = [];
  afterAll(() => {
    const slow = [...report].sort((a, b) => b.ms - a.ms).slice(0, 3).map((o) => `${o.label} ${(o.ms / 1000).toFixed(1)} s`);
    console.log(`sweep: ${report.length} cases (${[...counted].map(([k, n]) => `${k} ${n}`).join(', ')}); slowest ${slow.join(', ')}`);
  });
  const failures = (outcomes: Outcome[]): string[] => {
    report.push(...outcomes);
    return outcomes.filter((o) => o.problem).map((o) => `${o.label}: ${o.problem}`);
  };

  for (const [name, baseline] of Object.entries(BASELINES).filter(([, b]) => b.config)) {
    it(`${name}: every config field`, async () => {
      const outcomes: Outcome[] = [];
      const probeOut = join(outs, 'probe');
      const base = baseline.config!(probeOut);
      for (const entry of await configFields(name, base)) {
        // `plugins[0].<option>@<type>`: the option of a plugin of that type.
        const [fieldPath, pluginType] = entry.split('@') as [string, string | undefined];
        const value = getAt(base, fieldPath);
        const kind = value === undefined && pluginType ? pluginKind(pluginType, fieldPath) : kindOf(value, probeOut);
        for (const m of [...mutations(kind), ...extraFor(fieldPath, pluginType)]) {
          const caseOut = freshOut();
          const tree = baseline.config!(caseOut);
          if (pluginType) tree.plugins = [{ type: pluginType }];
          const text = JSON.stringify(withMark(tree, fieldPath)).replace(JSON.stringify(MARK), m.text);
          const file = join(caseOut, 'config.json');
          mkdirSync(caseOut, { recursive: true });
          writeFileSync(file, text);
          counted.set(`${name} config`, (counted.get(`${name} config`) ?? 0) + 1);
          outcomes.push(await check(`${name} ${entry} = ${m.what}`, [name, '--config', file, ...baseline.flags(caseOut)], m, namesFor(fieldPath, undefined, m)));
        }
      }
      expect(failures(outcomes)).toEqual([]);
    });
  }

  for (const [name, baseline] of Object.entries(BASELINES)) {
    it(`${name}: every flag`, async () => {
      const outcomes: Outcome[] = [];
      for (const option of command(name).options) {
        const flag = option.long?.replace(/^--/, '');
        if (!flag || option.negate || !(option.required || option.optional)) continue;
        const fieldPath = configPathOf(option.description);
        const probeOut = freshOut();
        const baseArgv = baseline.flags(probeOut);
        const given = baseArgv.indexOf(`--${flag}`);
        const value = given >= 0 ? baseArgv[given + 1] : fieldPath && baseline.config ? getAt(baseline.config(probeOut), fieldPath) : undefined;
        // A flag the baseline leaves out: a folder or file to read by its <dir>/<file> placeholder, else only what no field accepts.
        const kind = value !== undefined ? kindOf(value, probeOut) : /[<[]dir[\]>]/.test(option.flags) ? 'model' : /[<[]file[\]>]/.test(option.flags) ? 'input file' : 'unknown';
        for (const m of mutations(kind)) {
          const out = freshOut();
          const argv = baseline.flags(out);
          const i = argv.indexOf(`--${flag}`);
          const raw = m.file ?? (JSON.parse(m.text) as unknown);
          // A flag holds text: a config flag's text is read as JSON (so "5" in quotes arrives as 5), any other flag's is a path or name.
          if (typeof raw === 'string' ? fieldPath !== undefined && parsesAsJson(raw) : fieldPath === undefined) continue;
          const flagText = typeof raw === 'string' ? raw : m.text;
          if (i >= 0) argv[i + 1] = flagText;
          else argv.push(`--${flag}`, flagText);
          let configArgs: string[] = [];
          // The baseline's config file, unless --config itself is the flag swept.
          if (baseline.config && flag !== 'config') {
            mkdirSync(out, { recursive: true });
            const file = join(out, 'config.json');
            writeFileSync(file, JSON.stringify(baseline.config(out)));
            configArgs = ['--config', file];
          }
          counted.set(`${name} flags`, (counted.get(`${name} flags`) ?? 0) + 1);
          outcomes.push(await check(`${name} --${flag} ${m.what}`, [name, ...configArgs, ...argv], m, namesFor(fieldPath ?? flag, flag, m)));
        }
      }
      expect(failures(outcomes)).toEqual([]);
    });
  }
});

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The kind of a plugin option the baseline leaves out, from PLUGIN_TYPES' own table. */
function pluginKind(type: string, fieldPath: string): Kind {
  const option = String(segments(fieldPath).at(-1));
  if (option === 'name') return 'string';
  if (option === 'weight') return 'number';
  const kind = PLUGIN_TYPES[type]!.options[option];
  if (kind === undefined) return 'unknown';
  if (Array.isArray(kind)) return 'string';
  if (kind === 'int' || (typeof kind === 'object' && ('number' in kind || 'schedule' in kind))) return 'number';
  if (kind === 'boolean') return 'boolean';
  if (kind === 'projector') return 'input file';
  return 'object';
}

/** Values only some fields can get wrong: a choice outside its list, a layer beyond the models' layers. */
function extraFor(fieldPath: string, pluginType: string | undefined): Mutation[] {
  if (!pluginType) return [];
  const option = String(segments(fieldPath).at(-1));
  const kind = PLUGIN_TYPES[pluginType]!.options[option];
  if (Array.isArray(kind)) return [wrong('a value outside its choices', '"zzz-not-a-value"')];
  if (kind === 'layerMap') {
    return [
      wrong('a student layer beyond the student\'s 2', json({ kind: 'explicit', map: [[5, 1]] })),
      wrong('a teacher layer beyond the teacher\'s 2', json({ kind: 'explicit', map: [[1, 9]] })),
      wrong('a skip wider than the teacher', json({ kind: 'skip', every: 9 })),
    ];
  }
  return [];
}
