// Holdout-style settings on random models, checked against properties and host-side formulas:
// left/right padding, 3 labels, regression, multi-label, gelu_new, ALBERT groups, odd head size, seeded dropout.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activation, AlbertModel, BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification, BertModel, createConfig,
  DistilleryModelsError, ElectraModel, RobertaModel,
} from '@distillery/models';
import { initBackend } from '@distillery/trainer';

const small = { vocabSize: 50, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 24, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1, initializerRange: 0.3 };
const ids = (rows: number[][]): tf.Tensor2D => tf.tensor2d(rows, undefined, 'int32');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
});

describe('padding', () => {
  it('RoBERTa: a left-padded row gives the unpadded row\'s states at its real tokens', () => {
    const model = new RobertaModel(createConfig('roberta', { ...small, padTokenId: 1 }), 3);
    tf.tidy(() => {
      const padded = model.forward({ inputIds: ids([[1, 1, 1, 5, 9, 7, 2]]), attentionMask: ids([[0, 0, 0, 1, 1, 1, 1]]) }).lastHiddenState;
      const plain = model.forward({ inputIds: ids([[5, 9, 7, 2]]) }).lastHiddenState;
      const real = tf.slice(padded, [0, 3, 0], [1, 4, -1]);
      expect(tf.max(tf.abs(tf.sub(real, plain))).dataSync()[0]).toBeLessThan(1e-5);
    });
    model.dispose();
  });

  it('BERT: right padding leaves real tokens unchanged and masked keys get probability 0', () => {
    const model = new BertModel(createConfig('bert', small), 4);
    tf.tidy(() => {
      const out = model.forward({ inputIds: ids([[3, 4, 5, 0, 0]]), attentionMask: ids([[1, 1, 1, 0, 0]]) }, { outputAttentions: true });
      const plain = model.forward({ inputIds: ids([[3, 4, 5]]) }).lastHiddenState;
      expect(tf.max(tf.abs(tf.sub(tf.slice(out.lastHiddenState, [0, 0, 0], [1, 3, -1]), plain))).dataSync()[0]).toBeLessThan(1e-5);
      expect(tf.max(tf.slice(out.attentions![0]!, [0, 0, 0, 3], [-1, -1, -1, 2])).dataSync()[0]).toBe(0);
    });
    model.dispose();
  });
});

describe('losses per problem type', () => {
  const logSoftmaxRow = (row: number[]): number[] => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    return row.map((x) => x - lse);
  };

  it('3 labels: mean cross-entropy', () => {
    const model = new BertForSequenceClassification(createConfig('bert', { ...small, numLabels: 3 }), 5);
    tf.tidy(() => {
      const out = model.forward({ inputIds: ids([[2, 3, 4], [5, 6, 7]]), labels: tf.tensor1d([2, 0], 'int32') });
      const l = out.logits.arraySync();
      const want = -(logSoftmaxRow(l[0]!)[2]! + logSoftmaxRow(l[1]!)[0]!) / 2;
      expect(out.loss!.dataSync()[0]).toBeCloseTo(want, 5);
    });
    model.dispose();
  });

  it('num_labels=1: regression MSE on float labels', () => {
    const model = new BertForSequenceClassification(createConfig('bert', { ...small, numLabels: 1 }), 6);
    tf.tidy(() => {
      const out = model.forward({ inputIds: ids([[2, 3, 4], [5, 6, 7]]), labels: tf.tensor1d([0.5, -1.25]) });
      const l = out.logits.dataSync();
      expect(out.loss!.dataSync()[0]).toBeCloseTo(((l[0]! - 0.5) ** 2 + (l[1]! + 1.25) ** 2) / 2, 5);
    });
    model.dispose();
  });

  it('float [B, C] labels: multi-label BCE with logits', () => {
    const model = new BertForSequenceClassification(createConfig('bert', { ...small, numLabels: 2 }), 7);
    tf.tidy(() => {
      const y = [[1, 0], [1, 1]];
      const out = model.forward({ inputIds: ids([[2, 3, 4], [5, 6, 7]]), labels: tf.tensor2d(y) });
      const l = out.logits.arraySync();
      const bce = (x: number, t: number): number => -(t * Math.log(1 / (1 + Math.exp(-x))) + (1 - t) * Math.log(1 - 1 / (1 + Math.exp(-x))));
      expect(out.loss!.dataSync()[0]).toBeCloseTo(l.flatMap((row, i) => row.map((x, j) => bce(x, y[i]![j]!))).reduce((a, b) => a + b) / 4, 5);
    });
    model.dispose();
  });

  it('token classification ignores -100; QA averages start and end CE', () => {
    const tok = new BertForTokenClassification(createConfig('bert', { ...small, numLabels: 3 }), 8);
    const qa = new BertForQuestionAnswering(createConfig('bert', small), 9);
    tf.tidy(() => {
      const out = tok.forward({ inputIds: ids([[2, 3, 4]]), labels: ids([[1, -100, 2]]) });
      const l = (out.logits as tf.Tensor3D).arraySync()[0]!;
      expect(out.loss!.dataSync()[0]).toBeCloseTo(-(logSoftmaxRow(l[0]!)[1]! + logSoftmaxRow(l[2]!)[2]!) / 2, 5);
      const q = qa.forward({ inputIds: ids([[2, 3, 4, 5]]), startPositions: tf.tensor1d([1], 'int32'), endPositions: tf.tensor1d([3], 'int32') });
      const s = q.startLogits.arraySync()[0]!;
      const e = q.endLogits.arraySync()[0]!;
      expect(q.loss!.dataSync()[0]).toBeCloseTo(-(logSoftmaxRow(s)[1]! + logSoftmaxRow(e)[3]!) / 2, 5);
    });
    [tok, qa].forEach((m) => m.dispose());
  });

  it('a label outside [0, num_labels) is a typed error, not a tfjs crash', () => {
    const model = new BertForSequenceClassification(createConfig('bert', small), 1);
    expect(() => tf.tidy(() => { model.forward({ inputIds: ids([[2, 3]]), labels: tf.tensor1d([5], 'int32') }); })).toThrow(/inputs.labels: label 5 is outside \[0, 2\)/);
    expect(() => tf.tidy(() => { model.forward({ inputIds: ids([[2, 99]]) }); })).toThrow(DistilleryModelsError);
    model.dispose();
  });
});

describe('activations', () => {
  it('gelu (erf) and gelu_new (tanh) follow their formulas', () => {
    const xs = [-3, -1, -0.5, 0, 0.7, 2.5];
    const erf = (x: number): number => { // Maclaurin series: double-precision exact for |x| <= 3
      let sum = 0; let term = x; for (let n = 0; n < 60; n++) { sum += term / (2 * n + 1); term *= (-x * x) / (n + 1); }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    const gelu = tf.tidy(() => activation('gelu', tf.tensor1d(xs)).arraySync());
    const geluNew = tf.tidy(() => activation('gelu_new', tf.tensor1d(xs)).arraySync());
    xs.forEach((x, i) => {
      expect(gelu[i]).toBeCloseTo(0.5 * x * (1 + erf(x / Math.SQRT2)), 6);
      expect(geluNew[i]).toBeCloseTo(0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))), 6);
    });
  });
});

describe('ALBERT groups', () => {
  // An ALBERT with G groups of `inner` layers is an ELECTRA (E != H projection, same layer maths)
  // whose layer k = i·inner + j holds group floor(i / (L / G)) layer j.
  it.each([[4, 2, 1], [3, 2, 1], [2, 1, 2]])('L=%i groups=%i inner=%i matches the unrolled encoder', (layers, groups, inner) => {
    const shared = { vocabSize: 40, embeddingSize: 8, hiddenSize: 12, numAttentionHeads: 3, intermediateSize: 20, hiddenAct: 'gelu_new' as const, initializerRange: 0.3 };
    const albert = new AlbertModel(createConfig('albert', { ...shared, numHiddenLayers: layers, numHiddenGroups: groups, innerGroupNum: inner }), 11);
    const electra = new ElectraModel(createConfig('electra', { ...shared, numHiddenLayers: layers * inner }), 12);
    const a = albert.namedParameters();
    const rename: Array<[string, string]> = [['attention.query', 'attention.self.query'], ['attention.key', 'attention.self.key'], ['attention.value', 'attention.self.value'], ['attention.dense', 'attention.output.dense'], ['attention.LayerNorm', 'attention.output.LayerNorm'], ['ffn_output', 'output.dense'], ['ffn', 'intermediate.dense'], ['full_layer_layer_norm', 'output.LayerNorm']];
    for (const [name, v] of electra.namedParameters()) {
      let source = name.replace('embeddings_project', 'encoder.embedding_hidden_mapping_in');
      const m = /^encoder\.layer\.(\d+)\.(.*)$/.exec(name);
      if (m) {
        const k = Number(m[1]);
        const g = Math.floor(Math.floor(k / inner) / (layers / groups));
        const local = rename.reduce((s, [from, to]) => (s.startsWith(to) ? from + s.slice(to.length) : s), m[2]!);
        source = `encoder.albert_layer_groups.${g}.albert_layers.${k % inner}.${local}`;
      }
      v.assign(a.get(source)!);
    }
    tf.tidy(() => {
      const inputs = { inputIds: ids([[3, 7, 9, 0]]), attentionMask: ids([[1, 1, 1, 0]]) };
      const x = albert.forward(inputs, { outputHiddenStates: true, outputAttentions: true });
      const y = electra.forward(inputs, { outputHiddenStates: true, outputAttentions: true });
      expect(x.hiddenStates).toHaveLength(layers + 1);
      expect(x.attentions).toHaveLength(layers * inner);
      x.hiddenStates!.forEach((h, i) => expect(tf.max(tf.abs(tf.sub(h, y.hiddenStates![i * inner]!))).dataSync()[0]).toBeLessThan(1e-5));
    });
    [albert, electra].forEach((m) => m.dispose());
  });
});

describe('odd head size and dropout', () => {
  it('hidden 15 with 5 heads (head dim 3): attention rows are distributions over real keys', () => {
    const model = new BertModel(createConfig('bert', { ...small, hiddenSize: 15, numAttentionHeads: 5 }), 2);
    tf.tidy(() => {
      const att = model.forward({ inputIds: ids([[4, 5, 6, 0]]), attentionMask: ids([[1, 1, 1, 0]]) }, { outputAttentions: true, outputAttentionScores: true });
      expect(att.attentions![0]!.shape).toEqual([1, 5, 4, 4]);
      expect(att.attentionScores![0]!.shape).toEqual([1, 5, 4, 4]);
      const sums = tf.sum(att.attentions![1]!, -1).dataSync();
      sums.forEach((s) => expect(s).toBeCloseTo(1, 5));
    });
    model.dispose();
  });

  it('seeded dropout: same seed same output, other seed or eval differs', () => {
    const model = new BertModel(createConfig('bert', small), 2);
    tf.tidy(() => {
      const run = (o: { training: boolean; seed?: number }): Float32Array => model.forward({ inputIds: ids([[4, 5, 6, 7]]) }, o).lastHiddenState.dataSync() as Float32Array;
      expect(run({ training: true, seed: 1 })).toEqual(run({ training: true, seed: 1 }));
      expect(run({ training: true, seed: 1 })).not.toEqual(run({ training: true, seed: 2 }));
      expect(run({ training: false, seed: 1 })).toEqual(run({ training: false, seed: 2 }));
      expect(run({ training: false })).not.toEqual(run({ training: true, seed: 1 }));
    });
    model.dispose();
  });
});
