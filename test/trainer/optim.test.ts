import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AdamW, LrScheduler, clipByGlobalNorm, globalNorm, isNoDecayParameter, lrLambda, resolveWarmupSteps } from '@distillery/trainer';

/** torch.optim.AdamW, one parameter, float64. */
function torchAdamW(p: number[], grads: number[][], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const w = [...p];
  grads.forEach((g, t) => {
    const step = t + 1;
    for (let i = 0; i < w.length; i++) {
      w[i]! *= 1 - lr * wd;
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** step) + eps;
      w[i]! -= (lr / (1 - b1 ** step)) * (m[i]! / denom);
    }
  });
  return w;
}

describe('AdamW', () => {
  const grads = [[0.5, -1, 2e-3], [0.1, 0.3, -0.2], [-0.4, 0.2, 1e-4]];
  const init = [1, -2, 0.5];

  it('matches torch.optim.AdamW, decaying weights but not biases / LayerNorm', () => {
    const params = new Map([
      ['dense.weight', tf.variable(tf.tensor1d(init))],
      ['dense.bias', tf.variable(tf.tensor1d(init))],
      ['encoder.LayerNorm.weight', tf.variable(tf.tensor1d(init))],
    ]);
    const opt = new AdamW({ weightDecay: 0.1 });
    for (const g of grads) tf.tidy(() => opt.step(params, new Map([...params.keys()].map((k) => [k, tf.tensor1d(g)])), 0.01));
    const decayed = torchAdamW(init, grads, 0.01, 0.1);
    const plain = torchAdamW(init, grads, 0.01, 0);
    expect(decayed).not.toEqual(plain);
    const close = (name: string, want: number[]) => Array.from(params.get(name)!.dataSync()).forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 6));
    close('dense.weight', decayed);
    close('dense.bias', plain);
    close('encoder.LayerNorm.weight', plain);
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  it('skips parameters without a gradient and restores its state exactly', () => {
    const a = tf.variable(tf.tensor1d(init));
    const untouched = tf.variable(tf.tensor1d(init));
    const opt = new AdamW({ weightDecay: 0.1 });
    tf.tidy(() => opt.step(new Map([['a', a], ['b', untouched]]), new Map([['a', tf.tensor1d(grads[0]!)]]), 0.01));
    expect(Array.from(untouched.dataSync())).toEqual(init);
    const copy = tf.variable(a.clone());
    const restored = new AdamW({ weightDecay: 0.1 });
    restored.loadStateDict(opt.stateDict());
    tf.tidy(() => opt.step(new Map([['a', a]]), new Map([['a', tf.tensor1d(grads[1]!)]]), 0.01));
    tf.tidy(() => restored.step(new Map([['a', copy]]), new Map([['a', tf.tensor1d(grads[1]!)]]), 0.01));
    expect(Array.from(copy.dataSync())).toEqual(Array.from(a.dataSync()));
    expect(() => restored.loadStateDict({ config: { type: 'SGD' }, tensors: new Map() })).toThrow(/not an AdamW state/);
    tf.dispose([a, untouched, copy]);
    opt.dispose();
    restored.dispose();
  });

  it('decides decay by HF parameter names', () => {
    for (const n of ['bert.encoder.layer.0.attention.output.LayerNorm.weight', 'distilbert.transformer.layer.0.sa_layer_norm.weight', 'classifier.bias', 'x.norm.weight', 'final_layer_norm.weight']) expect(isNoDecayParameter(n)).toBe(true);
    for (const n of ['bert.embeddings.word_embeddings.weight', 'classifier.weight', 'pre_classifier.weight', 'normalizer.weight']) expect(isNoDecayParameter(n)).toBe(false);
  });
});

describe('clipping and schedules', () => {
  it('clips by the global norm as torch.nn.utils.clip_grad_norm_', () => {
    const grads = new Map([['a', tf.tensor1d([3])], ['b', tf.tensor1d([4])]]);
    const norm = globalNorm(grads);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    const clipped = clipByGlobalNorm(grads, 1, 5);
    expect(clipped.get('a')!.dataSync()[0]).toBeCloseTo(0.6, 5);
    expect(clipped.get('b')!.dataSync()[0]).toBeCloseTo(0.8, 5);
    const untouched = clipByGlobalNorm(grads, 10, 5);
    expect(untouched.get('b')!.dataSync()[0]).toBe(4);
    tf.dispose([norm, ...grads.values(), ...clipped.values(), ...untouched.values()]);
  });

  it('follows HF lambda formulas', () => {
    const at = (type: Parameters<typeof lrLambda>[0], steps: number[]) => steps.map((s) => lrLambda(type, s, 2, 10));
    expect(at('linear', [0, 1, 2, 6, 10])).toEqual([0, 0.5, 1, 0.5, 0]);
    const cos = at('cosine', [0, 2, 6, 10]);
    expect(cos[0]).toBe(0);
    expect(cos[1]).toBe(1);
    expect(cos[2]).toBeCloseTo(0.5, 12);
    expect(cos[3]).toBeCloseTo(0, 12);
    expect(at('constant_with_warmup', [1, 5, 10])).toEqual([0.5, 1, 1]);
    expect(at('constant', [0, 9])).toEqual([1, 1]);
    expect(resolveWarmupSteps(0, 0.1, 95)).toBe(10);
    expect(resolveWarmupSteps(3, 0.5, 95)).toBe(3);
    const s = new LrScheduler('linear', 1e-3, 2, 10);
    s.step();
    expect(s.lr()).toBeCloseTo(5e-4, 12);
    expect(() => new LrScheduler('cosine', 1e-3, 2, 10).loadStateDict(s.stateDict())).toThrow(/does not match this run/);
  });
});
