// UnsortedSegmentSum on wasm (missing from tfjs-backend-wasm) and the tf.gather gradient it enables.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@distillery/backends';
import { expectClose, randomValues, runOn } from './reference.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

async function compare(f: () => tf.Tensor): Promise<void> {
  expect(tf.getBackend()).toBe('wasm');
  expectClose(await runOn('wasm', f), await runOn('cpu', f), 1e-5);
}

describe('wasm UnsortedSegmentSum', () => {
  it('sums rows into segments, dropping out-of-range ids, float32 and int32', async () => {
    const ids = [3, 0, 3, -1, 7, 1, 0, 9];
    const x = randomValues(ids.length * 5, 1);
    await compare(() => tf.unsortedSegmentSum(tf.tensor(x, [ids.length, 5]), tf.tensor1d(ids, 'int32'), 8));
    await compare(() => tf.unsortedSegmentSum(tf.tensor(x, [ids.length, 5]).mul(10).round().cast('int32'), tf.tensor1d(ids, 'int32'), 8));
  });

  it('takes multi-dimensional segment ids over the leading axes', async () => {
    const ids = [[0, 2, 2], [1, 0, 3]];
    const x = randomValues(2 * 3 * 4 * 2, 2);
    // tfjs-cpu only takes 1-D ids, so its reference sees the same rows flattened.
    const wasm = await runOn('wasm', () => tf.unsortedSegmentSum(tf.tensor(x, [2, 3, 4, 2]), tf.tensor2d(ids, [2, 3], 'int32') as unknown as tf.Tensor1D, 4)); // the op's typing says 1-D; the kernel contract allows any leading shape
    const cpu = await runOn('cpu', () => tf.unsortedSegmentSum(tf.tensor(x, [6, 4, 2]), tf.tensor1d(ids.flat(), 'int32'), 4));
    expectClose(wasm, cpu, 1e-5);
  });
});

describe('tf.gather gradient on wasm equals cpu', () => {
  it('embedding lookup [B, S] with repeated ids', async () => {
    const table = randomValues(50 * 16, 3);
    const ids = Array.from(randomValues(4 * 7, 4), (v) => Math.floor(Math.abs(v) * 1000) % 50);
    const upstream = randomValues(4 * 7 * 16, 5);
    await compare(() =>
      tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor2d(ids, [4, 7], 'int32')).mul(tf.tensor(upstream, [4, 7, 16])).sum())(tf.tensor(table, [50, 16])),
    );
  });

  it('gather along axis 1', async () => {
    const x = randomValues(3 * 10 * 4, 6);
    await compare(() => tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d([9, 0, 9, 4], 'int32'), 1).square().sum())(tf.tensor(x, [3, 10, 4])));
  });

  it('an embedding trains with tf.variableGrads and leaves no tensors behind', () => {
    const table = tf.variable(tf.tensor(randomValues(20 * 8, 7), [20, 8]));
    const ids = tf.tensor2d([[1, 5, 5], [19, 0, 1]], [2, 3], 'int32');
    const target = tf.tensor(randomValues(2 * 3 * 8, 8), [2, 3, 8]);
    const optimizer = tf.train.sgd(0.5);
    const loss = () => tf.losses.meanSquaredError(target, tf.gather(table, ids)) as tf.Scalar;
    const step = () => tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss);
      optimizer.applyGradients(grads);
      return value.dataSync()[0]!;
    });
    const first = step();
    const tensors = tf.memory().numTensors;
    let last = first;
    for (let i = 0; i < 20; i++) last = step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(last).toBeLessThan(first * 0.5);
    tf.dispose([table, ids, target]);
    optimizer.dispose();
  });
});
