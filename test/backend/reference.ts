/** Shared helpers for the backend tests: seeded data and "run the same thing on cpu" references. */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** Deterministic standard-normal-ish floats (mulberry32 + Box-Muller), independent of any backend. */
export function randomValues(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** Run `f` on `backend` and return its result's values and shape; the backend active before is restored. */
export async function runOn(backend: string, f: () => tf.Tensor): Promise<{ values: Float32Array | Int32Array; shape: number[] }> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(f);
    const result = { values: (await out.data()) as Float32Array | Int32Array, shape: out.shape };
    out.dispose();
    return result;
  } finally {
    await tf.setBackend(previous);
  }
}

/** Elementwise |a-b| <= atol + rtol·|b|: the backends sum in different orders, so bits may differ. */
export function expectClose(actual: { values: ArrayLike<number>; shape: number[] }, expected: { values: ArrayLike<number>; shape: number[] }, tol = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.values.length).toBe(expected.values.length);
  let worst = 0;
  for (let i = 0; i < expected.values.length; i++) {
    const e = expected.values[i]!;
    const err = Math.abs(actual.values[i]! - e) / (1 + Math.abs(e));
    if (!(err <= worst)) worst = err; // NaN propagates into a failure
  }
  expect(worst).toBeLessThanOrEqual(tol);
}
