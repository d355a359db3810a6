// The wasm matMul fix (packages/backends/src/kernels/wasm-matmul.ts) against the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@distillery/backends';
import { expectClose, randomValues, runOn } from './reference.js';

const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;
const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu'] as const;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

/** Operand shape for logical [..., rows, cols] stored transposed or not. */
function stored(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return transposed ? [...batch, cols, rows] : [...batch, rows, cols];
}

/** Same seeded inputs on wasm (patched) and cpu. */
async function compare(f: () => tf.Tensor): Promise<void> {
  expect(tf.getBackend()).toBe('wasm');
  expectClose(await runOn('wasm', f), await runOn('cpu', f));
}

/** Deterministic seeded shape draws: `count` tuples of ints in [1, max]. */
function draws(count: number, width: number, max: number, seed: number): number[][] {
  const u = randomValues(count * width, seed);
  return Array.from({ length: count }, (_, i) => Array.from({ length: width }, (_, j) => 1 + Math.floor((Math.abs(u[i * width + j]!) * 997) % max)));
}

describe('wasm BatchMatMul fix equals the cpu backend', () => {
  it('is installed on the wasm backend', () => {
    // The wrapper replaces the stock kernel: its function is not the one tfjs-backend-wasm registered.
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc.name).not.toBe('batchMatMul');
    expect(tf.getKernel('_FusedMatMul', 'wasm').kernelFunc.name).not.toBe('fusedBatchMatMul');
  });

  it('2-D, all four transpose combinations, random shapes', async () => {
    for (const [m, k, n] of draws(6, 3, 70, 1)) {
      for (const [ta, tb] of TRANSPOSES) {
        const a = randomValues(m! * k!, m! + k!);
        const b = randomValues(k! * n!, k! + n! + 7);
        await compare(() => tf.matMul(tf.tensor(a, stored([], m!, k!, ta)), tf.tensor(b, stored([], k!, n!, tb)), ta, tb));
      }
    }
  });

  it('batched 3-D and 4-D, all four transpose combinations', async () => {
    for (const [batch, m, k, n] of draws(4, 4, 9, 2).map(([b, ...r]) => [b!, ...r.map((x) => x * 5)])) {
      for (const batchShape of [[batch!], [2, batch!]]) {
        for (const [ta, tb] of TRANSPOSES) {
          const size = tf.util.sizeFromShape(batchShape);
          const a = randomValues(size * m! * k!, 3);
          const b = randomValues(size * k! * n!, 4);
          await compare(() => tf.matMul(tf.tensor(a, stored(batchShape, m!, k!, ta)), tf.tensor(b, stored(batchShape, k!, n!, tb)), ta, tb));
        }
      }
    }
  });

  it('broadcast batch: shared right operand, shared left operand, rank-3 by rank-2', async () => {
    const [m, k, n, batch] = [13, 17, 11, 5];
    for (const [ta, tb] of TRANSPOSES) {
      const cases: Array<[number[], number[]]> = [[[batch], [1]], [[1], [batch]], [[batch], []], [[], [batch]], [[2, batch], [1, 1]]];
      for (const [batchA, batchB] of cases) {
        const a = randomValues(tf.util.sizeFromShape(batchA) * m * k, 5);
        const b = randomValues(tf.util.sizeFromShape(batchB) * k * n, 6);
        await compare(() => tf.matMul(tf.tensor(a, stored(batchA, m, k, ta)), tf.tensor(b, stored(batchB, k, n, tb)), ta, tb));
      }
    }
  });

  it('a tensor reused under another shape as the right operand (stock XNNPACK cache keys on id only)', async () => {
    const w = randomValues(6 * 4, 8);
    await compare(() => {
      const flat = tf.tensor1d(w);
      const first = tf.matMul(tf.ones([3, 6]), flat.reshape([6, 4]));
      const second = tf.matMul(tf.ones([3, 4]), flat.reshape([4, 6]));
      return tf.concat([first.flatten(), second.flatten()]);
    });
  });

  it('gradients of matMul (transposed products) match', async () => {
    // tfjs-core's matMul gradient does not reduce broadcast batches, so both operands carry the batch.
    const a = randomValues(4 * 9 * 7, 9);
    const b = randomValues(4 * 7 * 5, 10);
    await compare(() => {
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).square().sum())([tf.tensor(a, [4, 9, 7]), tf.tensor(b, [4, 7, 5])]);
      return tf.concat([ga!.flatten(), gb!.flatten()]);
    });
  });
});

describe('wasm _FusedMatMul fix equals the cpu backend', () => {
  it('bias and every fusable activation, all four transpose combinations', async () => {
    // The stock wasm kernel adds row 0's bias to every row once an operand is transposed.
    const [m, k, n] = [19, 23, 12];
    for (const [ta, tb] of TRANSPOSES) {
      for (const activation of ACTIVATIONS) {
        const a = randomValues(m * k, 11);
        const b = randomValues(k * n, 12);
        const bias = randomValues(n, 13);
        await compare(() => tf.fused.matMul({ a: tf.tensor(a, stored([], m, k, ta)), b: tf.tensor(b, stored([], k, n, tb)), transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation, leakyreluAlpha: 0.3 }));
      }
    }
  });

  it('batched operands with bias', async () => {
    const [batch, m, k, n] = [3, 8, 10, 6];
    for (const [ta, tb] of TRANSPOSES) {
      for (const batchB of [[batch], [1]]) {
        const a = randomValues(batch * m * k, 14);
        const b = randomValues(tf.util.sizeFromShape(batchB) * k * n, 15);
        const bias = randomValues(n, 16);
        await compare(() => tf.fused.matMul({ a: tf.tensor(a, stored([batch], m, k, ta)), b: tf.tensor(b, stored(batchB, k, n, tb)), transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation: 'relu' }));
      }
    }
  });
});

describe('wasm matMul fix memory', () => {
  it('leaves no tensor or backend data behind', () => {
    const a = tf.tensor(randomValues(4 * 16 * 8, 17), [4, 16, 8]);
    const b = tf.tensor(randomValues(4 * 8 * 12, 18), [4, 8, 12]);
    const bias = tf.tensor1d(randomValues(12, 19));
    const backend = tf.backend();
    const run = () => {
      for (const [ta, tb] of TRANSPOSES) {
        const x = ta ? a.transpose([0, 2, 1]) : a;
        const y = tb ? b.transpose([0, 2, 1]) : b;
        tf.matMul(x, y, ta, tb).dispose();
        const shared = y.slice([0], [1]); // broadcast batch path
        tf.matMul(x, shared, ta, tb).dispose();
        shared.dispose();
        tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias, activation: 'relu' }).dispose();
        if (x !== a) x.dispose();
        if (y !== b) y.dispose();
      }
    };
    run(); // warm-up
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    tf.dispose([a, b, bias]);
  });
});
