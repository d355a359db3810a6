// exportOnnx → transformers.js (local files only, onnxruntime-node) equals the TF.js forward within
// 1e-4 for every family × head, the config options the ports support, and the parity fixtures; with
// the layer outputs on, every hidden state, attention map and score map too, under optimum's names.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createConfig, createModel, loadConfig, modelClassFor, type AnyModel, type ModelConfig, type ModelType, type Task } from '@distillery/models';
import { exportOnnx, type LayerOutputOptions } from '@distillery/onnx';
import { initBackend } from '@distillery/backends';
import * as hf from '@huggingface/transformers';
import { tempDir } from '../helpers/tmp.js';

const FIXTURES = new URL('../fixtures/parity/', import.meta.url).pathname;

/** transformers.js' class per head; ALBERT has no token-classification class there, so its raw outputs are read through AutoModel. */
function hfClass(task: Task, modelType: ModelType): { from_pretrained: typeof hf.AutoModel.from_pretrained } {
  switch (task) {
    case 'sequenceClassification': return hf.AutoModelForSequenceClassification;
    case 'tokenClassification': return modelType === 'albert' ? hf.AutoModel : hf.AutoModelForTokenClassification;
    case 'questionAnswering': return hf.AutoModelForQuestionAnswering;
    case 'maskedLM': return hf.AutoModelForMaskedLM;
    case 'base': return hf.AutoModel;
  }
}

interface Batch {
  ids: number[][];
  mask: number[][];
  types?: number[][];
}

const int64 = (rows: number[][]): hf.Tensor => new hf.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0]!.length]);
const int32 = (rows: number[][]): tf.Tensor2D => tf.tensor2d(rows, undefined, 'int32');

/** Load `dir` with transformers.js and run `batch`; every float output by name. */
async function runTransformersJs(dir: string, task: Task, modelType: ModelType, batch: Batch, dtype: 'fp32' | 'q8' = 'fp32'): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  hf.env.allowRemoteModels = false;
  hf.env.allowLocalModels = true;
  hf.env.localModelPath = `${dirname(dir)}/`;
  const model = await hfClass(task, modelType).from_pretrained(basename(dir), { dtype, device: 'cpu' });
  try {
    const out = (await model({ input_ids: int64(batch.ids), attention_mask: int64(batch.mask), ...(batch.types ? { token_type_ids: int64(batch.types) } : {}) })) as Record<string, hf.Tensor>;
    return Object.fromEntries(Object.entries(out).filter(([, t]) => t instanceof hf.Tensor).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
  } finally {
    await model.dispose();
  }
}

/** The TF.js forward's outputs under transformers.js' names (optimum's `hidden_states.{i}` for the layer lists). */
function runTfjs(model: AnyModel, batch: Batch, layers: LayerOutputOptions = {}): Record<string, { data: Float32Array; dims: number[] }> {
  return tf.tidy(() => {
    const inputs = { inputIds: int32(batch.ids), attentionMask: int32(batch.mask), ...(batch.types ? { tokenTypeIds: int32(batch.types) } : {}) };
    const out = model.forward(inputs, layers) as unknown as Record<string, tf.Tensor | tf.Tensor[] | undefined>;
    const head: Record<string, tf.Tensor | tf.Tensor[] | undefined> = 'lastHiddenState' in out
      ? { last_hidden_state: out.lastHiddenState, pooler_output: out.poolerOutput }
      : 'startLogits' in out ? { start_logits: out.startLogits, end_logits: out.endLogits } : { logits: out.logits };
    const lists = { hidden_states: out.hiddenStates, attentions: out.attentions, attention_scores: out.attentionScores } as Record<string, tf.Tensor[] | undefined>;
    const named = { ...head, ...Object.fromEntries(Object.entries(lists).flatMap(([prefix, list]) => (list ?? []).map((t, i) => [`${prefix}.${i}`, t]))) } as Record<string, tf.Tensor | undefined>;
    return Object.fromEntries(Object.entries(named).filter(([, t]) => t).map(([k, t]) => [k, { data: t!.dataSync() as Float32Array, dims: t!.shape }]));
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

async function expectParity(model: AnyModel, task: Task, batch: Batch, layers: LayerOutputOptions = {}): Promise<void> {
  const dir = join(tempDir('distillery-onnx-'), 'export');
  const result = await exportOnnx(model, dir, layers);
  const ours = runTfjs(model, batch, layers);
  const theirs = await runTransformersJs(dir, task, model.config.modelType, batch);
  expect(Object.keys(ours).sort()).toEqual(result.signature.outputs.slice().sort());
  for (const [name, t] of Object.entries(ours)) {
    expect(theirs[name], `transformers.js output ${name}`).toBeDefined();
    expect(theirs[name]!.dims, `${name} dims`).toEqual(t.dims);
    expect(maxAbsDiff(theirs[name]!.data, t.data), `${name}: max |onnx - tfjs|`).toBeLessThan(1e-4);
  }
}

const SMALL = { vocabSize: 40, maxPositionEmbeddings: 24, numLabels: 3 };
const CONFIGS: Array<[string, () => ModelConfig]> = [
  ['bert', () => createConfig('bert', { ...SMALL, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 20 })],
  ['roberta', () => createConfig('roberta', { ...SMALL, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 20, typeVocabSize: 1, layerNormEps: 1e-5, hiddenAct: 'gelu_new' })],
  ['distilbert', () => createConfig('distilbert', { ...SMALL, dim: 16, nLayers: 2, nHeads: 4, hiddenDim: 20, activation: 'relu', sinusoidalPosEmbds: true })],
  ['albert', () => createConfig('albert', { ...SMALL, embeddingSize: 8, hiddenSize: 16, numHiddenLayers: 4, numHiddenGroups: 2, innerGroupNum: 2, numAttentionHeads: 4, intermediateSize: 20 })],
  ['electra', () => createConfig('electra', { ...SMALL, embeddingSize: 8, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 20, hiddenAct: 'quick_gelu' })],
];
const TASKS: Task[] = ['sequenceClassification', 'tokenClassification', 'questionAnswering', 'maskedLM', 'base'];

/** Row 1 right-padded; for RoBERTa row 2 left-padded (its positions come from the ids). Ids avoid the pad id except where padded. */
function batchFor(config: ModelConfig): Batch {
  const pad = config.padTokenId ?? 0;
  const ids = [[5, 9, 12, 7, 30, 3], [6, 11, 8, pad, pad, pad], [pad, pad, 14, 15, 16, 17]];
  const mask = ids.map((row, r) => row.map((_, j) => (r === 1 ? (j < 3 ? 1 : 0) : r === 2 ? (j >= 2 ? 1 : 0) : 1)));
  const types = 'typeVocabSize' in config && config.typeVocabSize > 1 ? [[0, 0, 0, 1, 1, 1], [0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 1]] : undefined;
  return { ids, mask, ...(types ? { types } : {}) };
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
});

describe.each(CONFIGS)('%s', (_name, makeConfig) => {
  it.each(TASKS)('%s exports and matches TF.js in transformers.js', async (task) => {
    const config = makeConfig();
    const model = createModel(config, { task, seed: 3 });
    try {
      await expectParity(model, task, batchFor(config));
    } finally {
      model.dispose();
    }
  });
});

// Read through AutoModel: transformers.js returns every graph output by name there.
describe.each(CONFIGS)('%s with layer outputs', (_name, makeConfig) => {
  it('hidden_states.{i}, attentions.{i}, attention_scores.{i} match the TF.js forward', async () => {
    const config = makeConfig();
    const model = createModel(config, { task: 'sequenceClassification', seed: 4 });
    try {
      await expectParity(model, 'base', batchFor(config), { outputHiddenStates: true, outputAttentions: true, outputAttentionScores: true });
    } finally {
      model.dispose();
    }
  });
});

describe('sequence-classification variants', () => {
  it.each([
    ['regression', { numLabels: 1, problemType: 'regression' as const }],
    ['multi-label', { numLabels: 4, problemType: 'multi_label_classification' as const }],
  ])('%s head', async (_name, overrides) => {
    const config = createConfig('bert', { ...SMALL, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 20, hiddenAct: 'silu', ...overrides });
    const model = createModel(config, { task: 'sequenceClassification', seed: 5 });
    try {
      await expectParity(model, 'sequenceClassification', batchFor(config));
    } finally {
      model.dispose();
    }
  });
});

describe('parity fixtures', () => {
  const cases = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'config.json')) && existsSync(join(FIXTURES, d, 'model.safetensors')));
  it.each(cases)('%s', async (name) => {
    const dir = join(FIXTURES, name);
    const config = loadConfig(dir);
    const architecture = config.architectures?.[0] ?? '';
    const task: Task = architecture.endsWith('ForMaskedLM') ? 'maskedLM' : 'sequenceClassification';
    const model = await modelClassFor(config, task).fromPretrained(dir, { log: false });
    try {
      const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as { input_ids: number[][]; attention_mask?: number[][]; token_type_ids?: number[][] };
      const mask = inputs.attention_mask ?? inputs.input_ids.map((row) => row.map(() => 1));
      await expectParity(model, task, { ids: inputs.input_ids, mask, ...(inputs.token_type_ids ? { types: inputs.token_type_ids } : {}) });
    } finally {
      model.dispose();
    }
  });
});
