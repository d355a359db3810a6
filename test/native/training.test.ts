/**
 * End to end on the native backend: a small MLP trains (forward, gradients through every
 * overridden kernel, Adam) to the same losses as on cpu, and no step leaks tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from '@distillery/native';
import { afterAll, describe, expect, it } from 'vitest';

const registration = registerNativeBackend();
if (!registration.ok) console.warn(`[test/native] skipped: native backend unavailable — ${registration.why}`);

/** Train a 2-layer GELU MLP with LayerNorm and softmax cross-entropy; return the loss per step. */
async function train(backend: string, steps: number): Promise<{ losses: number[]; tensorsPerStep: number[] }> {
  await tf.setBackend(backend);
  const [n, d, h, c] = [64, 12, 32, 3];
  const x = tf.randomNormal([n, d], 0, 1, 'float32', 1);
  const labels = tf.oneHot(tf.argMax(tf.matMul(x, tf.randomNormal([d, c], 0, 1, 'float32', 2)), 1), c);
  const w1 = tf.variable(tf.randomNormal([h, d], 0, 0.3, 'float32', 3));
  const b1 = tf.variable(tf.zeros([h]));
  const gamma = tf.variable(tf.ones([h]));
  const w2 = tf.variable(tf.randomNormal([c, h], 0, 0.3, 'float32', 4));
  const optimizer = tf.train.adam(0.02);
  const loss = () => {
    const z = tf.fused.matMul({ a: x, b: w1, transposeB: true, bias: b1 }); // [n, h]
    const centered = tf.sub(z, tf.mean(z, -1, true));
    const normed = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), 1e-5))), gamma);
    const gelu = tf.mul(tf.mul(normed, 0.5), tf.add(tf.erf(tf.mul(normed, Math.SQRT1_2)), 1));
    return tf.losses.softmaxCrossEntropy(labels, tf.matMul(gelu, w2, false, true)) as tf.Scalar;
  };
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let i = 0; i < steps; i++) {
    const value = tf.tidy(() => optimizer.minimize(loss, true)!);
    losses.push((await value.data())[0]!);
    value.dispose();
    tensorsPerStep.push(tf.memory().numTensors);
  }
  tf.dispose([x, labels, w1, b1, gamma, w2]);
  optimizer.dispose();
  return { losses, tensorsPerStep };
}

describe.skipIf(!registration.ok)('training on the native backend', () => {
  afterAll(() => tf.setBackend('cpu'));

  it('an MLP learns and tracks the cpu backend step for step', async () => {
    const cpu = await train('cpu', 30);
    const native = await train('native', 30);
    expect(native.losses.at(-1)!).toBeLessThan(native.losses[0]! * 0.5);
    native.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!), `step ${i}`).toBeLessThan(1e-3 * Math.max(1, cpu.losses[i]!)));
  });

  it('does not grow tf.memory().numTensors across steps', async () => {
    const { tensorsPerStep } = await train('native', 12);
    // Adam creates its moment slots during the first step; from then on the count is flat.
    expect(new Set(tensorsPerStep.slice(1)).size).toBe(1);
  });
});
