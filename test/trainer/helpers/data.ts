/** A learnable synthetic task: label 1 when most tokens come from the lower half of the vocabulary. */
import { Rng, type Example } from '@distillery/trainer';

export function majorityTask(n: number, seed: number, vocabSize = 24): Example[] {
  const rng = new Rng(seed);
  const half = vocabSize / 2;
  return Array.from({ length: n }, () => {
    const len = 3 + 2 * rng.int(4); // odd lengths 3..9: no ties
    const inputIds = Array.from({ length: len }, () => 1 + rng.int(vocabSize - 1));
    const low = inputIds.filter((t) => t < half).length;
    return { inputIds, label: low * 2 > len ? 1 : 0 };
  });
}

/** Largest absolute difference between two weight snapshots. */
export function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let d = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
  }
  return d;
}
