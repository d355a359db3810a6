/**
 * Property-based fuzzing of the config.json parser: random JSON, random field soups and mutated
 * files only ever raise DistilleryModelsError naming the file; whatever parses is a usable
 * config (positive sizes, heads dividing the width); valid configs round-trip through
 * configToJSON → parseConfig (and through JSON text) exactly, every field and unknown key kept.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ACTIVATIONS, DistilleryModelsError, MODEL_TYPES, configToJSON, createConfig, loadConfig, parseConfig, type ModelConfig } from '@distillery/models';

const RUNS = 10_000;
const FILE = 'fuzz/config.json';
const scratch = mkdtempSync(join(tmpdir(), 'distillery-config-fuzz-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The snake_case keys each family reads (from the defaults it writes back), and all of them. */
const FAMILY_KEYS = Object.fromEntries(MODEL_TYPES.map((t) => [t, Object.keys(configToJSON(createConfig(t)))]));
const KNOWN_KEYS = [...new Set(Object.values(FAMILY_KEYS).flat())];
const SIZE_KEYS = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size', 'max_position_embeddings', 'type_vocab_size', 'embedding_size', 'num_hidden_groups', 'inner_group_num', 'n_layers', 'n_heads', 'dim', 'hidden_dim'];

/** Deep equality checked natively; `expect` (slow at 10,000 runs) only builds the report of a failure. */
function expectSame(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual, what).toStrictEqual(expected);
}

/** Parse; a success must be a config the models can build, a failure our typed error naming the file. */
function parseChecked(parse: () => ModelConfig, file: string): ModelConfig | DistilleryModelsError {
  let config: ModelConfig;
  try {
    config = parse();
  } catch (e) {
    if (!(e instanceof DistilleryModelsError)) throw e;
    if (!e.message.startsWith(`${file}: `)) expect(e.message).toMatch(new RegExp(`^${file}: `));
    return e;
  }
  const json = configToJSON(config);
  const badSizes = SIZE_KEYS.filter((key) => FAMILY_KEYS[config.modelType]!.includes(key) && !(Number.isSafeInteger(json[key]) && (json[key] as number) > 0));
  expectSame(badSizes, [], 'sizes that are not positive integers');
  const [hidden, heads] = config.modelType === 'distilbert' ? [config.dim, config.nHeads] : [config.hiddenSize, config.numAttentionHeads];
  expectSame(hidden % heads, 0, 'hidden size modulo heads');
  expectSame(Object.keys(config.id2label).length, config.numLabels, 'id2label entries');
  return config;
}

/** configToJSON → parseConfig is the identity, in memory and through JSON text. */
function expectRoundTrip(config: ModelConfig): void {
  const json = configToJSON(config);
  expectSame(parseConfig(json, FILE), config, 'parseConfig(configToJSON(config))');
  const text = JSON.stringify(json);
  expectSame(JSON.stringify(configToJSON(parseConfig(JSON.parse(text), FILE))), text, 'through JSON text');
}

const labelName = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'LABEL_0', 'négatif', '正面', ''), fc.string({ maxLength: 10 }));
const extraKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'torch_dtype', 'transformers_version', 'bos_token_id'), fc.string({ maxLength: 10 }))
  .filter((k) => !KNOWN_KEYS.includes(k) && !['num_labels', 'model_type', 'architectures', 'id2label', 'label2id', 'problem_type'].includes(k));
const prob = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true, noDefaultInfinity: true });
const size = (max: number) => fc.integer({ min: 1, max });

/** Valid HF config.json objects of every family: heads dividing the width, any labels, unknown keys. */
const validJson = fc.constantFrom(...MODEL_TYPES).chain((modelType) =>
  fc.record(
    {
      heads: size(16),
      headDim: size(64),
      layers: size(48),
      vocab: fc.integer({ min: 8, max: 250_000 }),
      act: fc.constantFrom(...ACTIVATIONS),
      dropout: prob,
      labels: fc.option(fc.array(labelName, { minLength: 1, maxLength: 6 }), { nil: undefined }),
      problemType: fc.option(fc.constantFrom('regression', 'single_label_classification', 'multi_label_classification'), { nil: undefined }),
      architectures: fc.option(fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }), { nil: undefined }),
      extra: fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    },
    { requiredKeys: ['heads', 'headDim', 'layers', 'vocab', 'act', 'dropout', 'extra'] },
  ).map((r) => {
    const family =
      modelType === 'distilbert'
        ? { n_heads: r.heads, dim: r.heads * r.headDim, n_layers: r.layers, hidden_dim: 4 * r.heads * r.headDim, activation: r.act, dropout: r.dropout }
        : { num_attention_heads: r.heads, hidden_size: r.heads * r.headDim, num_hidden_layers: r.layers, intermediate_size: 4 * r.heads * r.headDim, hidden_act: r.act, hidden_dropout_prob: r.dropout };
    return {
      ...r.extra,
      model_type: modelType,
      vocab_size: r.vocab,
      ...family,
      ...(r.labels && { id2label: Object.fromEntries(r.labels.map((name, i) => [String(i), name])) }),
      ...(r.problemType && { problem_type: r.problemType }),
      ...(r.architectures && { architectures: r.architectures }),
    } as Record<string, unknown>;
  }),
);

describe('config.json parser under fuzzing', () => {
  it('valid configs parse, keep every field and unknown key, and round-trip exactly', () => {
    fc.assert(fc.property(validJson, (json) => {
      const config = parseConfig(json, FILE);
      const back = configToJSON(config);
      // label2id is derived from id2label; every other key comes back unchanged.
      expectSame(Object.fromEntries(Object.keys(json).map((k) => [k, back[k]])), json, 'fields written back');
      expectRoundTrip(config);
    }), { numRuns: RUNS });
  });

  it('any JSON value, and objects of known keys with random values, raise only our error', () => {
    const soup = fc.record({
      model_type: fc.oneof(fc.constantFrom(...MODEL_TYPES), fc.jsonValue({ maxDepth: 1 })),
      fields: fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS, 'num_labels', 'id2label', 'label2id', 'problem_type', 'architectures'), fc.string({ maxLength: 6 })), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
    }).map(({ model_type, fields }) => ({ ...fields, model_type }));
    let parsed = 0;
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), soup), (json) => {
      const out = parseChecked(() => parseConfig(json, FILE), FILE);
      if (out instanceof DistilleryModelsError) return;
      parsed += 1;
      expectRoundTrip(out);
    }), { numRuns: RUNS });
    expect(parsed, 'some random configs should be valid').toBeGreaterThan(RUNS / 20);
  });

  it('one field of a valid config replaced by any JSON value, or dropped', () => {
    const mutated = fc.tuple(validJson, fc.nat(), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })).map(([json, at, value]) => {
      const keys = Object.keys(json);
      const key = keys[at % keys.length]!;
      const out = { ...json };
      if (value === undefined) delete out[key];
      else out[key] = value;
      return out;
    });
    fc.assert(fc.property(mutated, (json) => {
      const out = parseChecked(() => parseConfig(json, FILE), FILE);
      if (!(out instanceof DistilleryModelsError)) expectRoundTrip(out);
    }), { numRuns: RUNS });
  });

  it('config.json files with damaged text (cut, byte edits, insertions) load or raise only our error', () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), char: fc.constantFrom('"', '{', '}', ',', ':', '0', '-', 'e', '\\', '\u0000', 'é', ' ') }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.string({ maxLength: 6 }) }),
    );
    const dir = join(scratch, 'damaged');
    const file = join(dir, 'config.json');
    mkdirSync(dir);
    // One open file rewritten in place, then cut to length: re-creating or emptying it before each
    // write costs milliseconds per run on overlay filesystems.
    const fd = openSync(file, 'w');
    fc.assert(fc.property(validJson, fc.array(edit, { minLength: 1, maxLength: 3 }), (json, edits) => {
      let text = JSON.stringify(json, null, 2);
      for (const e of edits) {
        const at = text.length === 0 ? 0 : e.at % text.length;
        if (e.kind === 'cut') text = text.slice(0, at);
        else if (e.kind === 'set') text = text.slice(0, at) + e.char + text.slice(at + 1);
        else text = text.slice(0, at) + e.text + text.slice(at);
      }
      ftruncateSync(fd, writeSync(fd, text, 0));
      parseChecked(() => loadConfig(dir), file);
    }), { numRuns: RUNS });
    closeSync(fd);
  });
});
