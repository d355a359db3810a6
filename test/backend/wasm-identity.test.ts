// Zero-copy Identity on wasm: clones (the engine saves every gradient input this way) share data.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@distillery/backends';
import { expectClose, randomValues, runOn } from './reference.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: false });
});

describe('wasm Identity', () => {
  it('a clone shares the data, outlives its source, and frees it with the last reference', () => {
    const backend = tf.backend();
    const before = backend.numDataIds();
    const x = tf.tensor(randomValues(1000, 1), [10, 100]);
    const y = x.clone();
    expect(backend.numDataIds()).toBe(before + 1); // one buffer for both
    const values = x.dataSync().slice();
    x.dispose();
    expect(y.dataSync()).toEqual(values);
    y.dispose();
    expect(backend.numDataIds()).toBe(before);
  });

  it('gradients through saved tensors match cpu', async () => {
    const x = randomValues(6 * 32, 2);
    const f = () => tf.grad((t: tf.Tensor) => tf.softmax(t.exp().mul(t.sigmoid())).mul(tf.range(0, 32)).sum())(tf.tensor(x, [6, 32]));
    expectClose(await runOn('wasm', f), await runOn('cpu', f)); // exp/sigmoid approximations differ slightly
  });
});
