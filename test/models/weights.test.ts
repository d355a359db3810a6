// Checkpoints in and out: HF key sets, bit-identical round trips, tied/untied MLM keys, the
// base-model prefix, shape mismatches, missing keys, and no tensor leaks across forwards.
import { tempDir } from '../helpers/tmp.js';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BertForMaskedLM, BertForSequenceClassification, BertModel, DistilleryModelsError, inputsFromJson, loadConfig, modelClassFor,
  parseConfig, readSafetensors, type AnyModel, type InputsJson,
} from '@distillery/models';
import { initBackend } from '@distillery/trainer';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;
const CASES = readdirSync(FIX).filter((d) => existsSync(join(FIX, d, 'config.json')));
const tmp = (): string => tempDir('distillery-models-');
const inputsOf = (name: string): InputsJson => JSON.parse(readFileSync(join(FIX, name, 'inputs.json'), 'utf8')) as InputsJson;
const quiet = { log: false } as const;

async function load(name: string): Promise<AnyModel> {
  return (await modelClassFor(loadConfig(join(FIX, name))).fromPretrained(join(FIX, name), quiet)) as AnyModel;
}

function logitsOf(model: AnyModel, inputs: InputsJson): Float32Array {
  return tf.tidy(() => (model.forward(inputsFromJson(model, inputs)) as { logits: tf.Tensor }).logits.dataSync() as Float32Array).slice();
}

function errorOf(fn: () => unknown): DistilleryModelsError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DistilleryModelsError);
    return e as DistilleryModelsError;
  }
  throw new Error('expected a DistilleryModelsError');
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
});

describe('savePretrained / loadWeights', () => {
  it.each(CASES)('%s: load -> save -> load is bit-identical, with exactly the fixture key set', async (name) => {
    const model = await load(name);
    const dir = tmp();
    await model.savePretrained(dir);
    const saved = readSafetensors(join(dir, 'model.safetensors')).tensors;
    const original = readSafetensors(join(FIX, name, 'model.safetensors')).tensors;
    expect([...saved.keys()].sort()).toEqual([...original.keys()].sort());
    for (const [key, t] of original) expect(saved.get(key)!.data, key).toEqual(t.data);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']); // no temp files left

    const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    expect({ ...config, extra: {} }).toEqual({ ...model.config, architectures: [model.constructor.name], extra: {} });
    const fresh = modelClassFor(config).fromConfig(config, 123) as AnyModel;
    expect(logitsOf(fresh, inputsOf(name))).not.toEqual(logitsOf(model, inputsOf(name)));
    await fresh.loadWeights(dir);
    for (const [key, v] of model.namedParameters()) expect(fresh.namedParameters().get(key)!.dataSync(), key).toEqual(v.dataSync());
    expect(logitsOf(fresh, inputsOf(name))).toEqual(logitsOf(model, inputsOf(name)));
    model.dispose();
    fresh.dispose();
  });

  it('accepts an MLM checkpoint that spells out the tied decoder keys', async () => {
    const tensors = readSafetensors(join(FIX, 'bert_mlm/model.safetensors')).tensors;
    const bias = tensors.get('cls.predictions.bias')!;
    tensors.set('cls.predictions.decoder.weight', tensors.get('bert.embeddings.word_embeddings.weight')!);
    tensors.set('cls.predictions.decoder.bias', bias);
    tensors.delete('cls.predictions.bias');
    tensors.set('bert.embeddings.position_ids', { dtype: 'I64', shape: [1, 512], data: new Float32Array(512) });
    const model = new BertForMaskedLM(loadConfig(join(FIX, 'bert_mlm')) as never, 7);
    const info = model.loadStateDict(tensors);
    expect(info).toEqual({ missingKeys: [], unexpectedKeys: [], mismatchedKeys: [] });
    expect(model.namedParameters().get('cls.predictions.bias')!.dataSync()).toEqual(bias.data);
    expect(model.namedParameters().has('cls.predictions.decoder.weight')).toBe(false);
    model.dispose();
  });

  it('moves between bare and task models by the base-model prefix, like HF', async () => {
    const seqcls = (await load('bert_seqcls')) as BertForSequenceClassification;
    const bare = await BertModel.fromPretrained(join(FIX, 'bert_seqcls'), quiet);
    expect(bare.loadingInfo).toEqual({ missingKeys: [], unexpectedKeys: ['classifier.bias', 'classifier.weight'], mismatchedKeys: [] });
    expect(bare.namedParameters().has('embeddings.word_embeddings.weight')).toBe(true);
    const inputs = inputsOf('bert_seqcls');
    tf.tidy(() => {
      const a = bare.forward(inputsFromJson(bare, inputs)).poolerOutput!;
      const b = seqcls.forward(inputsFromJson(seqcls, inputs)).pooledOutput!;
      expect(a.dataSync()).toEqual(b.dataSync());
    });
    // A task model from a bare checkpoint: the head is new (reported), the encoder loads.
    const dir = tmp();
    await bare.savePretrained(dir);
    const lines: string[] = [];
    const again = await BertForSequenceClassification.fromPretrained(dir, { log: (l) => lines.push(l) });
    expect(again.loadingInfo!.missingKeys).toEqual(['classifier.weight', 'classifier.bias']);
    expect(lines.join('\n')).toMatch(/newly initialized: classifier.weight, classifier.bias/);
    [seqcls, bare, again].forEach((m) => m.dispose());
  });

  it('refuses a shape mismatch naming the key and both shapes, unless told to re-initialise', async () => {
    const e = await BertForSequenceClassification.fromPretrained(join(FIX, 'bert_seqcls'), { numLabels: 3, log: false }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DistilleryModelsError);
    expect((e as DistilleryModelsError).code).toBe('WEIGHT_SHAPE_MISMATCH');
    expect((e as Error).message).toMatch(/bert_seqcls\/model.safetensors: "classifier.bias" has shape \[2\] but the model expects \[3\]/);
    const m = await BertForSequenceClassification.fromPretrained(join(FIX, 'bert_seqcls'), { numLabels: 3, ignoreMismatchedSizes: true, log: false });
    expect(m.loadingInfo!.mismatchedKeys.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(m.config.id2label).toEqual({ 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    m.dispose();
  });

  it('lists missing encoder weights as an error unless allowMissing', () => {
    const tensors = readSafetensors(join(FIX, 'bert_seqcls/model.safetensors')).tensors;
    tensors.delete('bert.encoder.layer.1.output.dense.weight');
    const model = new BertForSequenceClassification(loadConfig(join(FIX, 'bert_seqcls')) as never);
    const e = errorOf(() => model.loadStateDict(tensors, { source: 'x.safetensors' }));
    expect(e.code).toBe('MISSING_KEYS');
    expect(e.message).toMatch(/x.safetensors: lacks 1 weight\(s\).*bert.encoder.layer.1.output.dense.weight/);
    expect(model.loadStateDict(tensors, { allowMissing: true }).missingKeys).toEqual(['bert.encoder.layer.1.output.dense.weight']);
    model.dispose();
  });

  it('loadWeights refuses a folder saved from another architecture', async () => {
    const dir = tmp();
    const mlm = await load('bert_mlm');
    await mlm.savePretrained(dir);
    const seqcls = await load('bert_seqcls');
    await expect(seqcls.loadWeights(dir)).rejects.toThrow(/missing: bert.pooler.dense.weight/);
    [mlm, seqcls].forEach((m) => m.dispose());
  });
});

describe('memory', () => {
  it('repeated forward and backward passes inside tf.tidy leave numTensors unchanged', async () => {
    const model = (await load('albert_seqcls')) as AnyModel;
    const inputs = inputsOf('albert_seqcls');
    const step = (seed: number): void => {
      tf.tidy(() => {
        const t = inputsFromJson(model, inputs);
        const vars = [...model.namedParameters().values()];
        tf.variableGrads(() => (model.forward(t, { training: true, seed, outputHiddenStates: true, outputAttentions: true, outputAttentionScores: true }) as { loss: tf.Scalar }).loss, vars);
      });
    };
    step(0);
    const before = tf.memory().numTensors;
    for (let i = 1; i < 4; i++) step(i);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
