/**
 * Per-token and span (question answering) logit KD against plain-JS formulas: padding and
 * `-100` rows must not count, and QA start/end logits are distributions over positions.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AutoConfig, BertForQuestionAnswering } from '@distillery/models';
import { DistillationObjective, LogitKdPlugin, combineTeacherLogits, logitKdLoss, type DistillModel } from '@distillery/plugins';
import { initBackend, Rng } from '@distillery/trainer';

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });

const softmax = (xs: number[], t: number): number[] => {
  const m = Math.max(...xs.map((x) => x / t));
  const e = xs.map((x) => Math.exp(x / t - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};
/** KL(softmax(t/T) ‖ softmax(s/T)) of one row. */
const kl = (s: number[], t: number[], T: number): number => {
  const [p, q] = [softmax(t, T), softmax(s, T)];
  return p.reduce((acc, pi, i) => acc + pi * Math.log(pi / q[i]!), 0);
};
const ce = (s: number[], y: number): number => -Math.log(softmax(s, 1)[y]!);
const random = (rng: Rng, shape: number[]): number[] => Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() - 0.5) * 6);
const value = (t: tf.Scalar): number => t.dataSync()[0]!;

describe('token-level KD', () => {
  const [B, S, C, T] = [2, 4, 3, 2];
  const rng = new Rng(5);
  const s = random(rng, [B, S, C]);
  const t = random(rng, [B, S, C]);
  const mask = [[1, 1, 1, 0], [1, 1, 0, 0]];
  const labels = [[2, -100, 0, -100], [1, 0, -100, -100]];
  const row = (x: number[], b: number, i: number): number[] => x.slice((b * S + i) * C, (b * S + i + 1) * C);
  const kept: Array<[number, number]> = [[0, 0], [0, 2], [1, 0], [1, 1]];

  it('averages KL and CE over token rows that are neither padding nor -100', () => {
    const soft = kept.reduce((a, [b, i]) => a + kl(row(s, b, i), row(t, b, i), T), 0) / kept.length * T * T;
    const hard = kept.reduce((a, [b, i]) => a + ce(row(s, b, i), labels[b]![i]!), 0) / kept.length;
    const terms = tf.tidy(() => {
      const r = logitKdLoss(tf.tensor3d(s, [B, S, C]), tf.tensor3d(t, [B, S, C]), tf.tensor2d(labels, undefined, 'int32'), { temperature: T, alpha: 0.3, attentionMask: tf.tensor2d(mask, undefined, 'int32') });
      return [value(r.soft), value(r.hard!), value(r.total)];
    });
    expect(terms[0]).toBeCloseTo(soft, 5);
    expect(terms[1]).toBeCloseTo(hard, 5);
    expect(terms[2]).toBeCloseTo(0.3 * soft + 0.7 * hard, 5);
  });

  it('without labels, every unpadded token is distilled', () => {
    const rows = mask.flatMap((m, b) => m.flatMap((keep, i) => (keep ? [[b, i] as const] : [])));
    const soft = rows.reduce((a, [b, i]) => a + kl(row(s, b, i), row(t, b, i), T), 0) / rows.length * T * T;
    const got = tf.tidy(() => value(logitKdLoss(tf.tensor3d(s, [B, S, C]), tf.tensor3d(t, [B, S, C]), undefined, { temperature: T, attentionMask: tf.tensor2d(mask, undefined, 'int32') }).soft));
    expect(got).toBeCloseTo(soft, 5);
  });
});

describe('span KD (question answering)', () => {
  const [B, S, T] = [2, 5, 3];
  const rng = new Rng(9);
  const s = random(rng, [B, S, 2]);
  const t = random(rng, [B, S, 2]);
  const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]];
  const positions = [[1, 3], [2, 2]]; // (start, end) per example
  /** The start (k = 0) or end (k = 1) logits of example b over its unpadded positions. */
  const over = (x: number[], b: number, k: number): number[] => Array.from({ length: S }, (_, i) => x[(b * S + i) * 2 + k]!).filter((_, i) => mask[b]![i] === 1);

  it('distils start and end as distributions over unpadded positions and averages them; CE on (start, end)', () => {
    let soft = 0;
    let hard = 0;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < 2; k++) {
        soft += kl(over(s, b, k), over(t, b, k), T);
        hard += ce(over(s, b, k), positions[b]![k]!);
      }
    }
    const got = tf.tidy(() => {
      const r = logitKdLoss(tf.tensor3d(s, [B, S, 2]), tf.tensor3d(t, [B, S, 2]), tf.tensor2d(positions, undefined, 'int32'), { target: 'span', temperature: T, alpha: 0.5, attentionMask: tf.tensor2d(mask, undefined, 'int32') });
      return [value(r.soft), value(r.hard!)];
    });
    expect(got[0]).toBeCloseTo((soft / (2 * B)) * T * T, 5);
    expect(got[1]).toBeCloseTo(hard / (2 * B), 5);
  });

  it('several teachers: the student is pulled to the weighted average of their start / end distributions over unpadded positions', () => {
    const t2 = random(rng, [B, S, 2]);
    const w = [0.25, 0.75];
    // KL(p ‖ softmax(s/T)) with p the teachers' averaged distribution.
    const klTo = (x: number[], p: number[]): number => {
      const q = softmax(x, T);
      return p.reduce((acc, pi, i) => acc + pi * Math.log(pi / q[i]!), 0);
    };
    let soft = 0;
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < 2; k++) {
        const [p1, p2] = [softmax(over(t, b, k), T), softmax(over(t2, b, k), T)];
        soft += klTo(over(s, b, k), p1.map((v, i) => w[0]! * v + w[1]! * p2[i]!));
      }
    }
    const attentionMask = tf.tensor2d(mask, undefined, 'int32');
    const got = tf.tidy(() => {
      const teacher = combineTeacherLogits([tf.tensor3d(t, [B, S, 2]), tf.tensor3d(t2, [B, S, 2])], w, 'kl', T, { target: 'span', attentionMask });
      return value(logitKdLoss(tf.tensor3d(s, [B, S, 2]), teacher, undefined, { target: 'span', temperature: T, attentionMask }).soft);
    });
    expect(got).toBeCloseTo((soft / (2 * B)) * T * T, 5);
    attentionMask.dispose();
  });

  it('LogitKdPlugin (span) takes several QA teachers: [1, 0] weights or twice the same teacher equal that teacher alone', () => {
    const config = AutoConfig.forModel('bert', { vocabSize: 20, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16 });
    const [student, a, b] = [3, 4, 5].map((seed) => new BertForQuestionAnswering(config, seed) as unknown as DistillModel);
    const batch = { inputIds: tf.tensor2d([[2, 7, 3, 9, 11, 3], [2, 8, 3, 12, 3, 0]], undefined, 'int32'), attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]], undefined, 'int32') };
    const progress = { step: 0, maxSteps: 1 };
    const kd = (teachers: DistillModel[], teacherWeights?: number[]): number => {
      const o = new DistillationObjective([new LogitKdPlugin({ target: 'span', temperature: 2 })], teachers, teacherWeights ? { teacherWeights } : {});
      o.setup(student!);
      const outputs = o.teacherOutputs(batch, progress);
      const loss = tf.tidy(() => value(o.compute(student!, batch, outputs, progress, { training: false }).loss));
      tf.dispose(outputs.map((x) => x.logits));
      return loss;
    };
    const alone = kd([a!]);
    expect(kd([a!, b!], [1, 0])).toBeCloseTo(alone, 5);
    expect(kd([a!, a!])).toBeCloseTo(alone, 5);
    const both = kd([a!, b!]);
    expect(Math.abs(both - alone)).toBeGreaterThan(1e-4);
    expect(Math.abs(both - kd([b!]))).toBeGreaterThan(1e-4);
    tf.dispose(Object.values(batch));
    for (const m of [student, a, b]) (m as unknown as { dispose(): void }).dispose();
  });

  it('refuses labels that are not (start, end) pairs', () => {
    expect(() => logitKdLoss(tf.zeros([B, S, 2]), tf.zeros([B, S, 2]), tf.zeros([B], 'int32'), { target: 'span' })).toThrow(/logit KD \(span\): labels \[2\] for 2 examples; pass \[B, 2\]/);
  });
});
