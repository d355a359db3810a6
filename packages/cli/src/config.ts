/**
 * Config files of `distillery train | distill | eval`: JSON or YAML, flags laid over them, then
 * checked field by field, so a bad value is reported as `<file>: <field>` (or as the flag that set
 * it) with the fix, before any model is loaded. Relative paths in a file are relative to that
 * file; paths given as flags are relative to the working directory.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { MAX_GENERATED_LABELS, parseConfig, type ModelConfig } from '@distillery/models';
import { DistilleryTrainerError, TrainingArguments, type TrainingArgumentsInit } from '@distillery/trainer';
import { DistilleryCliError } from './errors.js';
import { checkOutputDir, type InputPath } from './output-path.js';
import { readTextFile } from './text-file.js';

/** A flag that sets one config field: `--learning-rate 1e-4` sets `training.learningRate`. */
export interface OverrideFlag {
  flag: string;
  path: string;
  description: string;
  /** A switch (no value) that sets the field to true, e.g. --overwrite-output-dir. */
  boolean?: true;
}

/** A model given by folder or hub id, or by an HF config.json object (random init). */
export type ModelSource = string | ModelConfig;

export interface DataConfig {
  train?: string;
  eval?: string;
  /** Tokens per example after tokenization, special tokens included (default: 128, or less when the model has fewer positions). */
  maxLength?: number;
}

/** The parts every command shares. */
export interface CommonConfig {
  tokenizer?: string;
  numLabels?: number;
  data: DataConfig;
}

/** The raw tree and where each field came from. */
export interface ConfigSource {
  raw: Record<string, unknown>;
  /** The config file, or undefined when everything came from flags. */
  file: string | undefined;
  /** Config path → the flag that set it. */
  flags: ReadonlyMap<string, string>;
}

export const DEFAULT_MAX_LENGTH = 128;

/** Flags for the data files (train and distill). */
export const DATA_FLAGS: readonly OverrideFlag[] = [
  { flag: 'tokenizer', path: 'tokenizer', description: 'tokenizer folder or hub id (default: the model\'s own)' },
  { flag: 'num-labels', path: 'numLabels', description: 'classes of the classifier head (1 = regression)' },
  { flag: 'train-file', path: 'data.train', description: '.jsonl/.json rows {text, label} or {inputIds, label}' },
  { flag: 'eval-file', path: 'data.eval', description: 'rows evaluated after training' },
  { flag: 'max-length', path: 'data.maxLength', description: `tokens per example (default ${DEFAULT_MAX_LENGTH})` },
];

/** Flags for the most used `TrainingArguments`; any other goes through `--set training.<field>=...`. */
export const TRAINING_FLAGS: readonly OverrideFlag[] = [
  { flag: 'output-dir', path: 'training.outputDir', description: 'where checkpoints and the final HF folder go' },
  { flag: 'num-train-epochs', path: 'training.numTrainEpochs', description: 'epochs' },
  { flag: 'max-steps', path: 'training.maxSteps', description: 'optimizer steps (overrides epochs)' },
  { flag: 'learning-rate', path: 'training.learningRate', description: 'peak learning rate' },
  { flag: 'batch-size', path: 'training.perDeviceTrainBatchSize', description: 'examples per step' },
  { flag: 'seed', path: 'training.seed', description: 'seeds init, shuffling and dropout' },
  { flag: 'overwrite-output-dir', path: 'training.overwriteOutputDir', description: 'write into a non-empty output folder (its files may be replaced)', boolean: true },
];

/** Field checks that name the field (or its flag) and the fix. */
export class ConfigFields {
  constructor(private readonly source: ConfigSource) {}

  /** The config file, or undefined when everything came from flags. */
  get file(): string | undefined {
    return this.source.file;
  }

  fail(path: string, message: string, cause?: unknown): never {
    throw new DistilleryCliError('CONFIG_INVALID', `${this.where(path)} ${message}`, { cause });
  }

  /**
   * How the user set `path`: `--flag value (path)` when a flag set it or a section above it
   * (`--set training={...}` owns training.learningRate), else `file: path`.
   */
  where(path: string): string {
    const segments = path.replace(/\[(\d+)\]/g, '.$1').split('.');
    for (let n = segments.length; n > 0; n--) {
      const flag = this.source.flags.get(segments.slice(0, n).join('.'));
      if (flag) return `--${flag} (${path})`;
    }
    return `${this.source.file ?? 'flags'}: ${path}`;
  }

  /** Refuse top-level keys outside `allowed`. */
  topLevel(allowed: readonly string[]): void {
    this.keys(this.source.raw, '', allowed);
  }

  /** The value at a dotted path of the raw tree (undefined when absent). */
  get(path: string): unknown {
    let v: unknown = this.source.raw;
    for (const key of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    return v;
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (!isRecord(v)) this.fail(path, `must be an object (a mapping), got ${describe(v)}.`);
    return v;
  }

  /** Refuse keys outside `allowed`: a typo must not be silently ignored. */
  keys(obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      const camel = camelCase(key);
      const hint = key === '<<' ? ' (a YAML merge key: write the fields out, or use an anchor as the whole value)' : allowed.includes(camel) && camel !== key ? `; fields are camelCase: write ${camel}` : '';
      this.fail(join(path, key), `is not a known field${hint}; the fields here are ${allowed.join(', ')}.`);
    }
  }

  string(v: unknown, path: string): string {
    if (typeof v !== 'string' || v === '') this.fail(path, `must be a non-empty string, got ${describe(v)}.`);
    return v;
  }

  number(v: unknown, path: string, min = -Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(path, `must be a finite number${min > -Infinity ? ` >= ${min}` : ''}, got ${describe(v)}.`);
    return v;
  }

  int(v: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    // Exact integers only: beyond 2^53 a count or size is no longer the number written.
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(path, `must be an integer ${max < Number.MAX_SAFE_INTEGER ? `in [${min}, ${max}]` : `>= ${min}`}, got ${describe(v)}.`);
    return v;
  }

  boolean(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, got ${describe(v)}.`);
    return v;
  }

  choice<T extends string>(v: unknown, path: string, choices: readonly T[]): T {
    if (!choices.includes(v as T)) this.fail(path, `must be one of ${choices.map((c) => `"${c}"`).join(', ')}, got ${describe(v)}.`);
    return v as T;
  }

  optional<T>(v: unknown, path: string, check: (v: unknown, path: string) => T): T | undefined {
    return v === undefined || v === null ? undefined : check(v, path);
  }

  /** A path field: relative to the config file when it came from there, else to the working directory. */
  path(v: unknown, path: string): string {
    const p = this.string(v, path);
    return resolve(this.baseDir(path), p);
  }

  /** An existing file to read (a dataset): its absence is a config error, named before anything reads it. */
  inputFile(v: unknown, path: string): string {
    const file = this.path(v, path);
    if (!existsSync(file)) this.fail(path, `names ${file}, which does not exist; check the path.`);
    if (!statSync(file).isFile()) this.fail(path, `names ${file}, which is a folder; name a .jsonl or .json file.`);
    return file;
  }

  /** A folder or hub id: a local path (resolved as `path`) when one exists, else the hub id as written. */
  folderOrHubId(v: unknown, path: string): string {
    const s = this.string(v, path);
    const local = resolve(this.baseDir(path), s);
    return existsSync(local) ? local : s;
  }

  /** A model: a folder / hub id, or an HF config.json object (snake_case keys) for a random init. */
  modelSource(v: unknown, path: string): ModelSource {
    if (typeof v === 'string') return this.folderOrHubId(v, path);
    if (!isRecord(v)) this.fail(path, `must be a model folder, a hub id, or a config.json object like {"model_type": "bert", "hidden_size": 64, ...}; got ${describe(v)}.`);
    try {
      return parseConfig(v, `${this.source.file ?? 'flags'}: ${path}`);
    } catch (cause) {
      // parseConfig names the file and the config.json key; keep its message under our code.
      throw new DistilleryCliError('CONFIG_INVALID', (cause as Error).message, { cause });
    }
  }

  private baseDir(path: string): string {
    return this.source.file !== undefined && !this.source.flags.has(path) ? dirname(this.source.file) : process.cwd();
  }
}

/** `tokenizer`, `numLabels` and `data` (train / eval files, maxLength). */
export function commonConfig(f: ConfigFields, need: { train: boolean; eval: boolean }): CommonConfig {
  const data = f.object(f.get('data') ?? {}, 'data');
  f.keys(data, 'data', ['train', 'eval', 'maxLength']);
  const train = f.optional(data.train, 'data.train', (v, p) => f.inputFile(v, p));
  const evalFile = f.optional(data.eval, 'data.eval', (v, p) => f.inputFile(v, p));
  if (need.train && train === undefined) f.fail('data.train', 'is required: a .jsonl or .json file of {"text": ..., "label": ...} (or pre-tokenized {"inputIds": [...], "label": ...}) rows.');
  if (need.eval && evalFile === undefined) f.fail('data.eval', 'is required: a .jsonl or .json file of {"text": ..., "label": ...} rows.');
  const tokenizer = f.optional(f.get('tokenizer'), 'tokenizer', (v, p) => f.folderOrHubId(v, p));
  return {
    ...(tokenizer !== undefined && { tokenizer }),
    ...optionalField('numLabels', f.optional(f.get('numLabels'), 'numLabels', (v, p) => f.int(v, p, 1, MAX_GENERATED_LABELS))),
    data: {
      ...(train !== undefined && { train }),
      ...(evalFile !== undefined && { eval: evalFile }),
      ...optionalField('maxLength', f.optional(data.maxLength, 'data.maxLength', (v, p) => f.int(v, p, 3))),
    },
  };
}

/**
 * What a command reads, for the output-path policy: its config file, the tokenizer and data
 * files, plus `models` (hub ids and config objects drop out: nothing on disk).
 */
export function inputPaths(f: ConfigFields, config: CommonConfig, models: Record<string, ModelSource | undefined>): InputPath[] {
  const all: Record<string, ModelSource | undefined> = { '--config': f.file, ...models, tokenizer: config.tokenizer, 'data.train': config.data.train, 'data.eval': config.data.eval };
  return Object.entries(all).filter((e): e is [string, string] => typeof e[1] === 'string').map(([role, path]) => ({ role, path }));
}

/**
 * The output-path policy for a training run, before any work: outputDir (empty unless
 * overwriteOutputDir or resuming) and loggingDir (TensorBoard appends there, so only its place
 * is checked), never inside what the run reads.
 */
export function checkRunOutputs(f: ConfigFields, config: CommonConfig & { training: TrainingArguments }, models: Record<string, ModelSource | undefined>, resuming: boolean): void {
  const { outputDir, loggingDir, overwriteOutputDir } = config.training;
  const inputs = inputPaths(f, config, models);
  checkOutputDir(outputDir, { where: f.where('training.outputDir'), inputs, overwrite: overwriteOutputDir, resuming });
  checkOutputDir(loggingDir, { where: f.where('training.loggingDir'), inputs, overwrite: true });
}

/** The `training` section as `TrainingArguments`, its messages re-addressed to `training.<field>`. */
export function trainingArguments(f: ConfigFields): TrainingArguments {
  const training = f.object(f.get('training') ?? {}, 'training');
  for (const key of Object.keys(training)) {
    // HF's snake_case / CLI's kebab-case names, written under `training` by habit.
    if (/[-_]/.test(key) && camelCase(key) !== key) f.fail(`training.${key}`, `is not a known field; TrainingArguments fields are camelCase: write training.${camelCase(key)}.`);
  }
  for (const key of ['outputDir', 'loggingDir']) if (training[key] !== undefined) training[key] = f.path(training[key], `training.${key}`);
  try {
    // TrainingArguments checks every field itself (names, types, ranges, combinations).
    return new TrainingArguments(training as unknown as TrainingArgumentsInit);
  } catch (e) {
    if (!(e instanceof DistilleryTrainerError)) throw e;
    const m = /^TrainingArguments\.([^:\s]+): (.*)$/s.exec(e.message);
    if (!m) throw e;
    return f.fail(`training.${m[1]}`, m[2]!, e);
  }
}

/** Read a JSON or YAML config file into a plain object. */
export function readConfigFile(file: string): Record<string, unknown> {
  const text = readTextFile(file, { label: `--config ${file}`, hint: 'the path; pass a .json, .yaml or .yml file', code: 'CONFIG_INVALID' });
  const yaml = ['.yaml', '.yml'].includes(extname(file).toLowerCase());
  let raw: unknown;
  try {
    // `merge: true`: `<<: *defaults` merges a mapping, as configs with anchors expect.
    raw = yaml ? parseYaml(text, { merge: true }) : JSON.parse(text);
  } catch (cause) {
    throw new DistilleryCliError('CONFIG_INVALID', `${file}: not valid ${yaml ? 'YAML' : 'JSON'} (${(cause as Error).message.split('\n')[0]}); fix the syntax.`, { cause });
  }
  if (!isRecord(raw)) throw new DistilleryCliError('CONFIG_INVALID', `${file}: must hold an object at the top (fields like model, data, training), got ${describe(raw)}.`);
  return raw;
}

/** Register `--config`, `--set` and the command's override flags on `cmd`. */
export function addConfigOptions(cmd: Command, flags: readonly OverrideFlag[]): Command {
  cmd.option('--config <file>', 'JSON or YAML config file; flags override its fields');
  for (const f of flags) cmd.addOption(new Option(`--${f.flag}${f.boolean ? '' : ' <value>'}`, `${f.description} (config: ${f.path})`));
  return cmd.option('--set <path=value...>', 'override any config field, e.g. --set data.maxLength=64 (value read as JSON when it parses)');
}

/** The config file (if any) with the flags laid over it. */
export function configSource(opts: Record<string, unknown>, flags: readonly OverrideFlag[]): ConfigSource {
  const file = typeof opts.config === 'string' ? resolve(opts.config) : undefined;
  const raw = file === undefined ? {} : readConfigFile(file);
  const setBy = new Map<string, string>();
  for (const f of flags) {
    const value = opts[new Option(`--${f.flag}`).attributeName()];
    if (f.boolean && value === true) {
      setPath(raw, f.path, true, `--${f.flag}`);
      setBy.set(f.path, f.flag);
    }
    if (typeof value !== 'string') continue;
    setPath(raw, f.path, flagValue(value), `--${f.flag} ${value}`);
    setBy.set(f.path, `${f.flag} ${value}`);
  }
  for (const assignment of (opts.set as string[] | undefined) ?? []) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new DistilleryCliError('CLI_USAGE', `--set ${assignment}: expected path=value, e.g. --set training.learningRate=1e-4.`);
    const path = assignment.slice(0, eq);
    setPath(raw, path, flagValue(assignment.slice(eq + 1)), `--set ${assignment}`);
    setBy.set(path, `set ${assignment}`);
  }
  return { raw, file, flags: setBy };
}

/** Flag text as JSON when it parses (numbers, booleans, objects), else as the string itself. */
function flagValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Keys that would reach Object.prototype instead of a config field. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Set the dotted `path` of the tree: own properties only, lists indexed by number
 * (`plugins.1.weight`, an existing entry or one past the end), never through a scalar.
 */
function setPath(raw: Record<string, unknown>, path: string, value: unknown, flag = `--set ${path}`): void {
  const usage = (message: string): never => {
    throw new DistilleryCliError('CLI_USAGE', `${flag}: ${message}`);
  };
  const keys = path.split('.');
  for (const key of keys) {
    if (key === '') usage(`"${path}" has an empty part; write dotted field names like training.learningRate.`);
    if (UNSAFE_KEYS.has(key)) usage(`"${key}" is not a config field.`);
  }
  let node: Record<string, unknown> | unknown[] = raw;
  keys.forEach((key, i) => {
    const at = keys.slice(0, i + 1).join('.');
    let slot: string | number = key;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(key) || Number(key) > node.length) usage(`${keys.slice(0, i).join('.')} is a list of ${node.length}; index it with 0..${node.length}, got "${key}".`);
      slot = Number(key);
    }
    const container = node as Record<string | number, unknown>;
    if (i === keys.length - 1) {
      container[slot] = value;
      return;
    }
    const next = Object.hasOwn(container, slot) ? container[slot] : undefined;
    if (next === undefined || next === null) container[slot] = {};
    else if (typeof next !== 'object') usage(`${at} is ${JSON.stringify(next)}, not a section; set ${at} itself.`);
    node = container[slot] as Record<string, unknown> | unknown[];
  });
}

function camelCase(key: string): string {
  return key.replace(/[-_]+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function optionalField<K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, V>);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
