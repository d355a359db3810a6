/**
 * The fused AdamW kernel reproduces @distillery/trainer's composed AdamW exactly (same float32
 * operations in the same order), with and without decoupled weight decay, step after step.
 */
import * as tf from '@tensorflow/tfjs';
import { FUSED_ADAMW, fusedAdamW, registerNativeBackend } from '@distillery/native';
import { AdamW } from '@distillery/trainer';
import { afterAll, describe, expect, it } from 'vitest';

const registration = registerNativeBackend();
if (!registration.ok) console.warn(`[test/native] skipped: native backend unavailable — ${registration.why}`);

describe.skipIf(!registration.ok)('fused AdamW', () => {
  afterAll(() => tf.setBackend('cpu'));

  it.each([0, 0.01])('matches the trainer AdamW bit for bit (weight decay %s)', async (weightDecay) => {
    const [lr, steps, shape] = [3e-3, 4, [70, 1000]]; // 70k elements: the threaded path
    const grads = Array.from({ length: steps }, (_, i) => tf.randomNormal(shape, 0, 1, 'float32', 10 + i));
    const init = tf.randomNormal(shape, 0, 1, 'float32', 1);

    // Reference: the trainer's composed update, on cpu.
    await tf.setBackend('cpu');
    const adamw = new AdamW({ weightDecay, noDecay: () => false });
    const ref = tf.variable(init.clone());
    for (const g of grads) adamw.step(new Map([['w', ref]]), new Map([['w', g]]), lr);

    await tf.setBackend('native');
    let [p, m, v] = [init.clone(), tf.zerosLike(init), tf.zerosLike(init)];
    for (let step = 1; step <= steps; step++) {
      const next = fusedAdamW(p, grads[step - 1]!, m, v, { lr, beta1: adamw.beta1, beta2: adamw.beta2, epsilon: adamw.epsilon, weightDecay, step });
      expect(next).toBeDefined();
      tf.dispose([p, m, v]);
      [p, m, v] = next!;
    }
    const got = await p.data();
    const want = await ref.data();
    let mismatches = 0;
    for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) mismatches++;
    expect(mismatches).toBe(0);
    expect(tf.util.arraysEqual(Array.from(got), Array.from(await init.data()))).toBe(false);
    tf.dispose([...grads, init, ref, p, m, v]);
    adamw.dispose();
  });

  it('is offered only where registered, and rejects mismatched operands', async () => {
    await tf.setBackend('cpu');
    const t = tf.ones([3]);
    expect(fusedAdamW(t, t, t, t, { lr: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1 })).toBeUndefined();
    await tf.setBackend('native');
    expect(tf.getKernel(FUSED_ADAMW, 'native')).toBeDefined();
    expect(() => fusedAdamW(t, tf.ones([4]), t, t, { lr: 1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1 })).toThrow(/one shape/);
  });
});
