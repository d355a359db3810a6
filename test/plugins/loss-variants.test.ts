/** The configurable parts of the losses: layer maps, masking, scores, head matching, the beyond-the-seed losses. */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DistilleryPluginsError, attentionMseLoss, cosineHiddenLoss, crossEntropyLoss, hiddenMseLoss, logitKdLoss, matchTeacherHeads,
  miniLmLoss, mseLoss, patientKdLoss, relationKlLoss, resolveLayerMap, scheduleValue, valueRelation, attentionMapFromHiddenMap,
} from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });

const v = (x: tf.Tensor): number => x.dataSync()[0]!;
function code(fn: () => unknown): string | undefined {
  try { fn(); } catch (e) { return e instanceof DistilleryPluginsError ? e.code : `not a plugins error: ${String(e)}`; }
  return undefined;
}

describe('layer maps', () => {
  it('uniform, last, skip and explicit, with and without the embedding pair', () => {
    expect(resolveLayerMap({ kind: 'uniform' }, 2, 4)).toEqual([[0, 0], [1, 2], [2, 4]]);
    expect(resolveLayerMap({ kind: 'uniform' }, 2, 4, { includeEmbeddings: false })).toEqual([[1, 2], [2, 4]]);
    expect(resolveLayerMap({ kind: 'last' }, 2, 6)).toEqual([[0, 0], [1, 5], [2, 6]]);
    expect(resolveLayerMap({ kind: 'skip', every: 2 }, 3, 12, { includeEmbeddings: false })).toEqual([[1, 2], [2, 4], [3, 6]]);
    expect(resolveLayerMap({ kind: 'explicit', map: { 1: 3, 2: 4 } }, 2, 4)).toEqual([[1, 3], [2, 4]]);
    expect(resolveLayerMap({ kind: 'explicit', map: [[0, 0], [2, 4]] }, 2, 4, { includeEmbeddings: false })).toEqual([[2, 4]]);
    expect(attentionMapFromHiddenMap([[0, 0], [1, 2], [2, 4]])).toEqual([[0, 1], [1, 3]]);
  });

  it('rejects maps that cannot apply, naming the fix', () => {
    expect(code(() => resolveLayerMap({ kind: 'uniform' }, 3, 4))).toBe('PLUGIN_CONFIG_INVALID');
    expect(code(() => resolveLayerMap({ kind: 'skip', every: 3 }, 2, 4))).toBe('PLUGIN_CONFIG_INVALID');
    expect(code(() => resolveLayerMap({ kind: 'explicit', map: { 3: 1 } }, 2, 4))).toBe('PLUGIN_CONFIG_INVALID');
    expect(code(() => resolveLayerMap({ kind: 'explicit', map: [] }, 2, 4))).toBe('PLUGIN_CONFIG_INVALID');
  });
});

describe('masking', () => {
  const mask = tf.tensor2d([[1, 1, 0], [1, 0, 0]], [2, 3], 'int32');

  it('masked MSE averages over kept elements only', () => {
    const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const b = tf.zeros([2, 3]);
    expect(v(mseLoss(a, b, mask))).toBeCloseTo((1 + 4 + 16) / 3, 5);
    expect(v(mseLoss(a, b))).toBeCloseTo(91 / 6, 5);
  });

  it('hidden MSE with a padding mask ignores what padding holds', () => {
    const t = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1);
    // The student equals the teacher on tokens and differs on pads.
    const s = tf.add(t, tf.mul(tf.sub(1, tf.expandDims(tf.cast(mask, 'float32'), -1)), 5));
    expect(v(hiddenMseLoss([s], [t], [[0, 0]], { attentionMask: mask }).total)).toBe(0);
    expect(v(hiddenMseLoss([s], [t], [[0, 0]]).total)).toBeCloseTo(25 * 3 / 6, 4);
  });

  it('pre-softmax scores: masked keys are zeroed (TinyBERT), so only real keys count', () => {
    const t = tf.randomNormal([2, 2, 3, 3], 0, 1, 'float32', 2);
    const keyPad = tf.reshape(tf.sub(1, tf.cast(mask, 'float32')), [2, 1, 1, 3]);
    const sPadOnly = tf.add(t, tf.mul(keyPad, -1e4)); // differs only on masked keys
    expect(v(attentionMseLoss([sPadOnly], [t], [[0, 0]], { target: 'scores', attentionMask: mask }).total)).toBe(0);
    // A +1 shift counts on the 18 of 36 entries with a real key; zeroed ones stay in the mean, as in TinyBERT.
    expect(v(attentionMseLoss([tf.add(t, 1)], [t], [[0, 0]], { target: 'scores', attentionMask: mask }).total)).toBeCloseTo(18 / 36, 5);
    expect(code(() => attentionMseLoss([t], [t], [[0, 0]], { target: 'scores' }))).toBe('PLUGIN_CONFIG_INVALID');
  });

  it('maskPadding drops (query, key) pairs touching padding', () => {
    const t = tf.zeros([2, 1, 3, 3]);
    const s = tf.ones([2, 1, 3, 3]);
    // Every kept pair has error 1, so the masked mean is exactly 1 whatever the count.
    expect(v(attentionMseLoss([s], [t], [[0, 0]], { attentionMask: mask, maskPadding: true }).total)).toBeCloseTo(1, 6);
  });
});

describe('head matching', () => {
  it('averages the teacher heads into one map that broadcasts over the student heads', () => {
    const t = tf.randomUniform([1, 4, 2, 2], 0, 1, 'float32', 3);
    const matched = matchTeacherHeads(t, 2);
    expect(matched.shape).toEqual([1, 1, 2, 2]);
    const mean = tf.mean(t, 1, true);
    expect(tf.max(tf.abs(tf.sub(matched, mean))).dataSync()[0]).toBeLessThan(1e-7);
    // The loss against a 2-head student equals the loss against the explicitly repeated mean.
    const s = tf.randomUniform([1, 2, 2, 2], 0, 1, 'float32', 4);
    const repeated = tf.tile(mean, [1, 2, 1, 1]);
    const viaLoss = attentionMseLoss([s as tf.Tensor4D], [t as tf.Tensor4D], [[0, 0]]).total.dataSync()[0]!;
    expect(viaLoss).toBeCloseTo(tf.mean(tf.squaredDifference(s, repeated)).dataSync()[0]!, 7);
    expect(matchTeacherHeads(t, 4)).toBe(t);
  });
});

describe('logit KD variants', () => {
  const s = tf.tensor2d([[1, -1], [0.5, 2]]);
  const t = tf.tensor2d([[2, 0], [0, 1]]);
  it('mse on logits and regression', () => {
    const mse = logitKdLoss(s, t, tf.tensor1d([0, 1], 'int32'), { kind: 'mse', alpha: 1 });
    expect(v(mse.total)).toBeCloseTo((1 + 1 + 0.25 + 1) / 4, 6);
    const reg = logitKdLoss(tf.tensor2d([[1], [2]]), tf.tensor2d([[1.5], [2]]), tf.tensor1d([0, 4]), { kind: 'regression', alpha: 0.25 });
    expect(v(reg.soft)).toBeCloseTo(0.125, 6);
    expect(v(reg.hard!)).toBeCloseTo((1 + 4) / 2, 6);
    expect(v(reg.total)).toBeCloseTo(0.25 * 0.125 + 0.75 * 2.5, 6);
  });

  it('token-level CE ignores -100 and KL is zero for equal logits', () => {
    const logits = tf.tensor3d([[[0, 0], [5, 0]]]);
    expect(v(crossEntropyLoss(logits, tf.tensor2d([[0, -100]], [1, 2], 'int32')))).toBeCloseTo(Math.log(2), 6);
    expect(v(logitKdLoss(s, s, undefined).total)).toBeCloseTo(0, 6);
  });

  it('says what is wrong with mismatched inputs', () => {
    expect(code(() => logitKdLoss(s, tf.zeros([2, 3]), undefined))).toBe('SHAPE_MISMATCH');
    expect(code(() => crossEntropyLoss(s, tf.tensor1d([0, 1, 1], 'int32')))).toBe('LABELS_MISMATCH');
    expect(code(() => logitKdLoss(s, t, undefined, { temperature: 0 }))).toBe('PLUGIN_CONFIG_INVALID');
    expect(code(() => hiddenMseLoss([tf.zeros([1, 2, 3])], [tf.zeros([1, 2, 3])], [[1, 0]]))).toBe('OUTPUT_MISSING');
    expect(code(() => hiddenMseLoss([tf.zeros([1, 2, 3])], [tf.zeros([1, 2, 4])], [[0, 0]]))).toBe('SHAPE_MISMATCH');
  });
});

describe('losses beyond the seed', () => {
  it('DistilBERT cosine: 0 for parallel, 2 for opposite, padding ignored', () => {
    const t = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 4);
    const mask = tf.tensor2d([[1, 1, 0]], [1, 3], 'int32');
    expect(v(cosineHiddenLoss(tf.mul(t, 3), t))).toBeCloseTo(0, 5);
    expect(v(cosineHiddenLoss(tf.neg(t), t))).toBeCloseTo(2, 5);
    const padFlipped = tf.mul(t, tf.reshape(tf.tensor1d([1, 1, -1]), [1, 3, 1]));
    expect(v(cosineHiddenLoss(padFlipped, t, mask))).toBeCloseTo(0, 5);
  });

  it('MiniLM: KL matches a hand computation, value relations are distributions over real keys', () => {
    const p = [0.7, 0.2, 0.1];
    const q = [0.5, 0.25, 0.25];
    const hand = p.reduce((acc, pi, i) => acc + pi * Math.log(pi / q[i]!), 0);
    expect(v(relationKlLoss(tf.tensor4d(p, [1, 1, 1, 3]), tf.tensor4d(q, [1, 1, 1, 3])))).toBeCloseTo(hand, 6);
    const mask = tf.tensor2d([[1, 1, 0]], [1, 3], 'int32');
    const vr = valueRelation(tf.randomNormal([1, 3, 4], 0, 1, 'float32', 5) as tf.Tensor3D, 2, mask);
    expect(Array.from(tf.sum(vr, -1).dataSync()).every((x) => Math.abs(x - 1) < 1e-6)).toBe(true);
    expect(Array.from(tf.slice(vr, [0, 0, 0, 2], [1, 2, 3, 1]).dataSync()).every((x) => x === 0)).toBe(true);
    const att = tf.softmax(tf.randomNormal([1, 2, 3, 3], 0, 1, 'float32', 6));
    const values = tf.randomNormal([1, 3, 4], 0, 1, 'float32', 7) as tf.Tensor3D;
    const same = miniLmLoss({ attention: att, values }, { attention: att, values }, 2, mask);
    expect(v(same.total)).toBeCloseTo(0, 6);
    const other = miniLmLoss({ attention: tf.softmax(tf.randomNormal([1, 2, 3, 3], 0, 1, 'float32', 8)), values: tf.randomNormal([1, 3, 4], 0, 1, 'float32', 9) as tf.Tensor3D }, { attention: att, values }, 2);
    expect(v(other.attention)).toBeGreaterThan(0);
    expect(v(other.valueRelation)).toBeGreaterThan(0);
  });

  it('Patient-KD compares normalised [CLS] only', () => {
    const t = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 10);
    // Scaling and changing non-[CLS] positions changes nothing.
    const s = tf.concat([tf.mul(tf.slice(t, [0, 0, 0], [2, 1, 4]), 7), tf.randomNormal([2, 2, 4], 0, 1, 'float32', 11)], 1);
    expect(v(patientKdLoss([s], [t], [[0, 0]]))).toBeCloseTo(0, 6);
    const cls = (x: tf.Tensor) => tf.squeeze(tf.slice(x, [0, 0, 0], [2, 1, 4]), [1]);
    const u = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 12);
    const hand = tf.mean(tf.squaredDifference(tf.div(cls(u), tf.norm(cls(u), 2, -1, true)), tf.div(cls(t), tf.norm(cls(t), 2, -1, true))));
    expect(v(patientKdLoss([u], [t], [[0, 0]]))).toBeCloseTo(v(hand), 6);
  });

  it('schedules: constant, linear decay and growth, clamped outside their span', () => {
    expect(scheduleValue(0.3, 5, 10)).toBe(0.3);
    expect(scheduleValue({ kind: 'constant', value: 2 }, 9, 10)).toBe(2);
    expect(scheduleValue({ kind: 'linear', from: 4, to: 1 }, 5, 10)).toBeCloseTo(2.5);
    expect(scheduleValue({ kind: 'linear', from: 0, to: 1, startStep: 2, endStep: 6 }, 4, 100)).toBeCloseTo(0.5);
    expect(scheduleValue({ kind: 'linear', from: 0, to: 1, startStep: 2, endStep: 6 }, 50, 100)).toBe(1);
    expect(scheduleValue({ kind: 'linear', from: 0, to: 1, startStep: 2, endStep: 6 }, 0, 100)).toBe(0);
    expect(code(() => scheduleValue({ kind: 'linear', from: 0, to: 1 }, 0, 0))).toBe('PLUGIN_CONFIG_INVALID');
  });
});
