/**
 * Per-token and span (question answering) logit KD against plain-JS formulas: padding and
 * `-100` rows must not count, and QA start/end logits are distributions over positions.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { logitKdLoss } from '@distillery/plugins';
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

  it('refuses labels that are not (start, end) pairs', () => {
    expect(() => logitKdLoss(tf.zeros([B, S, 2]), tf.zeros([B, S, 2]), tf.zeros([B], 'int32'), { target: 'span' })).toThrow(/logit KD \(span\): labels \[2\] for 2 examples; pass \[B, 2\]/);
  });
});
