// A 2-layer dense net trains on every backend available here (issue 2 acceptance).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DistilleryBackendsError, initBackend, type BackendName } from '@distillery/backends';
import { randomValues } from './reference.js';

/** Train y = sin(x·w) style regression for `steps` Adam steps; return the loss curve. */
function train(steps: number): { losses: number[]; tensorsPerStep: number[] } {
  const [n, inputs, hidden] = [64, 8, 32];
  const x = tf.tensor(randomValues(n * inputs, 1), [n, inputs]);
  const y = tf.tidy(() => tf.sin(x.matMul(tf.tensor(randomValues(inputs, 2), [inputs, 1]))));
  const w1 = tf.variable(tf.tensor(randomValues(inputs * hidden, 3), [inputs, hidden]).mul(0.3));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.tensor(randomValues(hidden, 4), [hidden, 1]).mul(0.3));
  const b2 = tf.variable(tf.zeros([1]));
  const optimizer: tf.Optimizer = tf.train.adam(0.02);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => tf.losses.meanSquaredError(y, tf.relu(x.matMul(w1).add(b1)).matMul(w2).add(b2)) as tf.Scalar);
      optimizer.applyGradients(grads);
      return value.dataSync()[0]!;
    });
    losses.push(loss);
    tensorsPerStep.push(tf.memory().numTensors);
  }
  tf.dispose([x, y, w1, b1, w2, b2]);
  optimizer.dispose();
  return { losses, tensorsPerStep };
}

describe('2-layer dense net', () => {
  it.for<BackendName>(['wasm', 'cpu', 'native', 'tensorflow'])('loss falls on %s', async (backend, ctx) => {
    try {
      await initBackend({ backend, log: false });
    } catch (e) {
      // Only the optional backends (tfjs-node, the OpenBLAS addon) may be missing; wasm and cpu must always start.
      if ((backend === 'tensorflow' || backend === 'native') && e instanceof DistilleryBackendsError && e.code === 'BACKEND_UNAVAILABLE') ctx.skip();
      throw e;
    }
    expect(tf.getBackend()).toBe(backend);
    const { losses, tensorsPerStep } = train(30);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    // Adam creates its moment slots on step 1; after that nothing may accumulate.
    expect(new Set(tensorsPerStep.slice(1)).size).toBe(1);
  });
});
