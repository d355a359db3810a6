import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { SemiSupervisedCollator } from '../../examples/demo/collator.js';
import { countParameters } from '../../examples/demo/params.js';
import { demoPreset } from '../../examples/demo/presets.js';
import { msPerExample } from '../../examples/demo/timing.js';

function tinyBert(layers: number, hidden: number) {
  return new BertForSequenceClassification(
    createConfig('bert', { vocabSize: 50, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: 2, intermediateSize: 3 * hidden, maxPositionEmbeddings: 16, numLabels: 2 }),
    1,
  );
}

describe('SemiSupervisedCollator', () => {
  it('gives transfer rows the ignore label and keeps gold labels', async () => {
    const batch = new SemiSupervisedCollator().collate([
      { inputIds: [1, 5, 2], hardLabel: 1 }, // labelled fraction
      { inputIds: [1, 6, 7, 2] }, // transfer set
      { inputIds: [1, 2], label: 0 }, // validation example
    ]);
    expect(await batch.labels!.array()).toEqual([1, -100, 0]);
    expect(batch.labels!.dtype).toBe('int32');
    expect(batch.inputIds.shape).toEqual([3, 4]);
    expect(await batch.attentionMask.array()).toEqual([[1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 0, 0]]);
    tf.dispose(Object.values(batch));
  });
});

describe('countParameters', () => {
  it('splits the encoder from embeddings, pooler and head', () => {
    const [L, H, I, V, P] = [2, 8, 24, 50, 16];
    const model = tinyBert(L, H);
    const { params, encoderParams } = countParameters(model.namedParameters());
    // Per layer: Q, K, V, O (H² + H each), two LayerNorms (2H each), FFN in (HI + I) and out (IH + H).
    expect(encoderParams).toBe(L * (4 * H * H + 2 * H * I + 9 * H + I));
    // Embeddings (words, positions, 2 token types, LayerNorm), pooler (H² + H), classifier (2H + 2).
    expect(params - encoderParams).toBe((V + P + 2) * H + 2 * H + H * H + H + 2 * H + 2);
    model.dispose();
  });

  it('gives the default student at most a third of the teacher encoder', () => {
    const preset = demoPreset(false);
    const [teacher, student] = [new BertForSequenceClassification(preset.teacher, 1), new BertForSequenceClassification(preset.student, 1)];
    const ratio = countParameters(student.namedParameters()).encoderParams / countParameters(teacher.namedParameters()).encoderParams;
    expect(ratio).toBeLessThanOrEqual(1 / 3);
    teacher.dispose();
    student.dispose();
  });
});

describe('msPerExample', () => {
  it('times eval forwards without leaking tensors', async () => {
    const model = tinyBert(1, 8);
    const examples = Array.from({ length: 40 }, (_v, i) => ({ inputIds: [1, 3 + (i % 7), 4, 2].slice(0, 2 + (i % 3)), label: i % 2 }));
    const before = tf.memory().numTensors;
    const ms = await msPerExample(model, examples, { batchSize: 16, repeats: 2 });
    expect(ms).toBeGreaterThan(0);
    expect(Number.isFinite(ms)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
