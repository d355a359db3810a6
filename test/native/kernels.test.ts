/**
 * Every kernel the native backend overrides must equal the cpu backend's on the same inputs:
 * transposes, broadcast batches, size-1 and empty dims, and the inputs it hands back to cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from '@distillery/native';
import { afterAll, describe, expect, it } from 'vitest';

const registration = registerNativeBackend();
if (!registration.ok) console.warn(`[test/native] skipped: native backend unavailable — ${registration.why}`);

// Deterministic inputs (a tiny LCG) so a failure reproduces.
function values(size: number, seed: number, positive = false): number[] {
  let s = seed >>> 0;
  return Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 2 ** 32;
    return positive ? 0.1 + 2 * u : 4 * u - 2;
  });
}

type Input = { shape: number[]; dtype?: 'float32' | 'int32'; positive?: boolean };

/** Run `f` on fresh tensors under one backend; return shape, dtype and values. */
async function runOn(backend: string, inputs: Input[], f: (...xs: tf.Tensor[]) => tf.Tensor) {
  await tf.setBackend(backend);
  const xs = inputs.map((inp, i) => {
    const size = inp.shape.reduce((p, d) => p * d, 1);
    const v = values(size, 7 + 31 * i, inp.positive);
    return tf.tensor(inp.dtype === 'int32' ? v.map((x) => Math.round(x * 10)) : v, inp.shape, inp.dtype ?? 'float32');
  });
  const y = f(...xs);
  const out = { shape: y.shape, dtype: y.dtype, values: Array.from(await y.data()) };
  tf.dispose([...xs, y]);
  return out;
}

/** native(f) equals cpu(f) to `tol` relative to the values' scale. */
async function expectSame(inputs: Input[], f: (...xs: tf.Tensor[]) => tf.Tensor, tol = 1e-6) {
  const want = await runOn('cpu', inputs, f);
  const got = await runOn('native', inputs, f);
  expect(got.shape).toEqual(want.shape);
  expect(got.dtype).toBe(want.dtype);
  const scale = want.values.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  // One assertion per call (not per element): report the worst element.
  let worst = { i: -1, err: 0 };
  got.values.forEach((v, i) => {
    const w = want.values[i]!;
    const err = Number.isNaN(w) ? (Number.isNaN(v) ? 0 : Infinity) : Math.abs(v - w);
    if (!(err <= worst.err)) worst = { i, err };
  });
  expect(worst.err, `element ${worst.i}: native ${got.values[worst.i]} vs cpu ${want.values[worst.i]}`).toBeLessThanOrEqual(tol * scale);
}

describe.skipIf(!registration.ok)('native backend kernels equal cpu', () => {
  afterAll(() => tf.setBackend('cpu'));

  it('registers as a tfjs backend that is never picked implicitly', () => {
    expect(tf.findBackendFactory('native')).toBeDefined();
    expect(registration.ok && registration.kernels).toContain('BatchMatMul');
    expect(registration.ok && registration.threads).toBeGreaterThanOrEqual(1);
  });

  it('MatMul: every transpose combination, odd sizes', async () => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const [m, k, n] = [37, 19, 23];
      await expectSame([{ shape: ta ? [k, m] : [m, k] }, { shape: tb ? [n, k] : [k, n] }], (a, b) => tf.matMul(a!, b!, ta, tb), 1e-5);
    }
  });

  it('BatchMatMul: batched, transposed, and batch dims broadcast', async () => {
    await expectSame([{ shape: [5, 8, 6] }, { shape: [5, 6, 4] }], (a, b) => tf.matMul(a!, b!), 1e-5);
    await expectSame([{ shape: [2, 3, 6, 8] }, { shape: [2, 3, 5, 6] }], (a, b) => tf.matMul(a!, b!, true, true), 1e-5);
    await expectSame([{ shape: [1, 8, 6] }, { shape: [4, 6, 3] }], (a, b) => tf.matMul(a!, b!), 1e-5);
    await expectSame([{ shape: [4, 8, 6] }, { shape: [6, 3] }], (a, b) => tf.matMul(a!, b!), 1e-5);
  });

  it('BatchMatMul: two-sided broadcast [2,1]×[1,3] equals the explicitly broadcast product', async () => {
    const a = tf.tensor(values(2 * 4 * 5, 1), [2, 1, 4, 5]);
    const b = tf.tensor(values(3 * 5 * 2, 2), [1, 3, 5, 2]);
    await tf.setBackend('native');
    const got = await tf.matMul(a, b).array();
    await tf.setBackend('cpu');
    const want = await tf.matMul(tf.broadcastTo(a, [2, 3, 4, 5]), tf.broadcastTo(b, [2, 3, 5, 2])).array();
    expect(tf.tensor(got as number[][][][]).shape).toEqual([2, 3, 4, 2]);
    tf.test_util.expectArraysClose(got as number[][][][], want as number[][][][], 1e-5);
    tf.dispose([a, b]);
  });

  it('MatMul: size-1 and empty dims', async () => {
    await expectSame([{ shape: [1, 7] }, { shape: [7, 1] }], (a, b) => tf.matMul(a!, b!));
    await expectSame([{ shape: [3, 1] }, { shape: [1, 4] }], (a, b) => tf.matMul(a!, b!));
    await expectSame([{ shape: [3, 0] }, { shape: [0, 4] }], (a, b) => tf.matMul(a!, b!)); // all zeros
    await expectSame([{ shape: [0, 5] }, { shape: [5, 4] }], (a, b) => tf.matMul(a!, b!));
    await expectSame([{ shape: [0, 3, 5] }, { shape: [0, 5, 4] }], (a, b) => tf.matMul(a!, b!));
  });

  it('MatMul: int32 stays on the cpu kernel', async () => {
    await expectSame([{ shape: [3, 4], dtype: 'int32' }, { shape: [4, 2], dtype: 'int32' }], (a, b) => tf.matMul(a!, b!));
  });

  it('_FusedMatMul: row bias, full bias, activations', async () => {
    const ab: Input[] = [{ shape: [9, 6] }, { shape: [5, 6] }];
    await expectSame([...ab, { shape: [5] }], (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias }), 1e-5);
    await expectSame([...ab, { shape: [9, 5] }], (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias, activation: 'relu' }), 1e-5);
    await expectSame([...ab, { shape: [1, 5] }], (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias, activation: 'elu' }), 1e-5);
    await expectSame([...ab, { shape: [1, 1, 5] }], (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, bias }), 1e-5); // bias adds a dim
    await expectSame(ab, (a, b) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, activation: 'leakyrelu', leakyreluAlpha: 0.3 }), 1e-5);
    await expectSame([...ab, { shape: [5] }], (a, b, alpha) => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeB: true, activation: 'prelu', preluActivationWeights: alpha }), 1e-5);
    await expectSame([{ shape: [3, 9, 6] }, { shape: [3, 6, 5] }, { shape: [5] }], (a, b, bias) => tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, bias, activation: 'sigmoid' }), 1e-5);
  });

  it('binary ops: same shape, scalar, broadcast both ways, size-1 and empty', async () => {
    const ops = [tf.add, tf.sub, tf.mul, tf.div, tf.squaredDifference] as const;
    const pairs: Array<[number[], number[]]> = [
      [[4, 5], [4, 5]], [[4, 5], []], [[], [3]], [[2, 3, 8], [8]], [[2, 3, 8], [2, 3, 1]],
      [[2, 1, 6], [2, 5, 1]], [[1], [3, 1, 2]], [[3, 1], [1, 1]], [[0, 3], [3]], [[2, 2, 2, 2, 2, 2, 2, 2, 2], [2, 1, 2, 1, 2, 1, 2, 1, 2]],
      [[70000], [70000]], [[3, 40000], [3, 1]],
    ];
    for (const op of ops) {
      for (const [as, bs] of pairs) await expectSame([{ shape: as }, { shape: bs, positive: op === tf.div }], (a, b) => op(a!, b!), 0);
    }
  });

  it('float32 tensors cast from bool/int32 (which keep their Uint8Array/Int32Array values on cpu)', async () => {
    const mask = (x: tf.Tensor) => tf.cast(tf.greater(x, 0), 'float32');
    await expectSame([{ shape: [6, 5] }, { shape: [5] }], (a, b) => tf.mul(mask(a!), b!), 0);
    await expectSame([{ shape: [6, 5] }], (a) => tf.sum(mask(a!), -1), 0);
    await expectSame([{ shape: [6, 5], dtype: 'int32' }], (a) => tf.transpose(tf.cast(a!, 'float32')), 0);
    await expectSame([{ shape: [6, 5], dtype: 'int32' }, { shape: [5, 2] }], (a, b) => tf.matMul(tf.cast(a!, 'float32'), b!), 1e-6);
  });

  it('binary ops: int32 stays on the cpu kernel', async () => {
    await expectSame([{ shape: [3, 4], dtype: 'int32' }, { shape: [4], dtype: 'int32' }], (a, b) => tf.add(a!, b!), 0);
  });

  it('unary ops', async () => {
    const ops: Array<[(x: tf.Tensor) => tf.Tensor, boolean, number]> = [
      [tf.exp, false, 1e-6], [tf.neg, false, 0], [tf.sqrt, true, 1e-6], [tf.rsqrt, true, 1e-6], [tf.square, false, 1e-6],
      // tfjs-cpu's erf is a 1.5e-7 polynomial approximation; the native one is libm's erff.
      [tf.erf, false, 1e-6], [tf.tanh, false, 1e-6], [tf.sigmoid, false, 1e-6], [tf.log, true, 1e-6], [tf.reciprocal, true, 1e-6], [tf.abs, false, 0],
    ];
    for (const [op, positive, tol] of ops) {
      for (const shape of [[3, 70000], [5], [], [0, 2]]) await expectSame([{ shape, positive }], (x) => op(x!), tol);
    }
  });

  it('Sum and Mean: inner, outer, middle and scattered axes, keepDims', async () => {
    const cases: Array<[number[], number | number[]]> = [
      [[6, 7, 8], -1], [[6, 7, 8], 0], [[6, 7, 8], [0, 1]], [[6, 7, 8], 1], [[6, 7, 8], [0, 2]], [[6, 1, 8], [1, 2]],
      [[600, 700], 0], [[5], 0], [[0, 4], 0], [[4, 0], 1], [[2, 3], [0, 1]],
    ];
    for (const [shape, axis] of cases) {
      for (const keepDims of [false, true]) {
        await expectSame([{ shape }], (x) => tf.sum(x!, axis, keepDims), 1e-6);
        await expectSame([{ shape }], (x) => tf.mean(x!, axis, keepDims), 1e-6);
      }
    }
    await expectSame([{ shape: [3, 4], dtype: 'int32' }], (x) => tf.sum(x!, -1), 0);
  });

  it('Softmax over the last axis', async () => {
    for (const shape of [[4, 7], [2, 3, 130], [1, 1], [5], [0, 3]]) await expectSame([{ shape }], (x) => tf.softmax(x!), 1e-6);
    await expectSame([], () => tf.softmax(tf.tensor2d([[-Infinity, 0, 1], [1000, 1000, -1000]])), 1e-6);
  });

  it('GatherV2: axis 0 and inner axes, int32 tables, 2-D indices; out-of-range raises as on cpu', async () => {
    const idx = (values: number[], shape: number[]) => () => tf.tensor(values, shape, 'int32');
    await expectSame([{ shape: [50, 16] }], (x) => tf.gather(x!, idx([3, 0, 49, 3], [4])()), 0);
    await expectSame([{ shape: [4, 6, 5] }], (x) => tf.gather(x!, idx([5, 1, 1, 0, 2, 4], [2, 3])(), 1), 0);
    await expectSame([{ shape: [4, 6], dtype: 'int32' }], (x) => tf.gather(x!, idx([2, 5], [2])(), 1), 0);
    await expectSame([{ shape: [5, 3] }], (x) => tf.gather(x!, idx([], [0])()), 0);
    await tf.setBackend('native');
    expect(() => tf.gather(tf.zeros([5, 2]), tf.tensor1d([1, 5], 'int32'))).toThrow(/not in \[0, 4\]/);
  });

  it('ScatterNd: row and element indices, duplicates summed; bad index raises as on cpu', async () => {
    await expectSame([{ shape: [6, 4] }], (u) => tf.scatterND(tf.tensor2d([[2], [0], [2], [5], [2], [1]], [6, 1], 'int32'), u!, [7, 4]), 1e-6);
    await expectSame([{ shape: [3] }], (u) => tf.scatterND(tf.tensor2d([[1, 2], [0, 0], [1, 2]], [3, 2], 'int32'), u!, [2, 3]), 1e-6);
    await tf.setBackend('native');
    expect(() => tf.scatterND(tf.tensor2d([[7]], [1, 1], 'int32'), tf.ones([1, 2]), [3, 2])).toThrow(/Invalid indices/);
  });

  it('UnsortedSegmentSum, and the gather gradient built on it', async () => {
    const ids = () => tf.tensor1d([3, 0, 3, 1, 9, 3], 'int32'); // 9 is past numSegments: dropped
    await expectSame([{ shape: [6, 5] }], (x) => tf.unsortedSegmentSum(x!, ids(), 4), 1e-6);
    await expectSame([{ shape: [6, 2, 3] }], (x) => tf.unsortedSegmentSum(x!, ids(), 5), 1e-6);
    await expectSame([{ shape: [40, 8] }], (table) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d([1, 39, 1, 0, 7], 'int32')))))(table!), 1e-6);
  });

  it('Transpose: float32 and int32, merged and size-1 dims, empty', async () => {
    const cases: Array<[number[], number[]]> = [
      [[5, 7], [1, 0]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[2, 3, 4, 5], [3, 2, 1, 0]], [[2, 1, 4], [1, 2, 0]],
      [[3, 4, 5], [0, 1, 2]], [[0, 3], [1, 0]], [[300, 400], [1, 0]],
    ];
    for (const [shape, perm] of cases) {
      await expectSame([{ shape }], (x) => tf.transpose(x!, perm), 0);
      await expectSame([{ shape, dtype: 'int32' }], (x) => tf.transpose(x!, perm), 0);
    }
  });
});
