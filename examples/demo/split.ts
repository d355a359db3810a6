/**
 * Seeded, stratified splitting: every class is shuffled on its own and cut at the same
 * fractions, so each split keeps the corpus' class balance, and the same seed gives the same split.
 */
import { DistilleryDemoError } from './errors.js';

/** mulberry32: a tiny 32-bit PRNG, plenty for shuffling and identical on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates on a copy. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const rand = seededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Indices of `labels` grouped by class, each group shuffled with its own seed-derived stream. */
function shuffledByClass(labels: readonly number[], seed: number): number[][] {
  const classes = [...new Set(labels)].sort((a, b) => a - b);
  return classes.map((c) => shuffled(labels.flatMap((l, i) => (l === c ? [i] : [])), seed + 7919 * c));
}

/**
 * Cuts `labels`' indices into consecutive parts of the given fractions (summing to 1), per class.
 * Returns one index list per fraction, each shuffled so classes interleave.
 */
export function stratifiedSplit(labels: readonly number[], fractions: readonly number[], seed: number): number[][] {
  const total = fractions.reduce((a, b) => a + b, 0);
  if (fractions.some((f) => !(f > 0)) || Math.abs(total - 1) > 1e-9) {
    throw new DistilleryDemoError('OPTION_INVALID', `split fractions must be positive and sum to 1, got [${fractions.join(', ')}]`);
  }
  const parts: number[][] = fractions.map(() => []);
  for (const group of shuffledByClass(labels, seed)) {
    let start = 0;
    let cumulative = 0;
    fractions.forEach((f, k) => {
      cumulative += f;
      // Cut at rounded cumulative positions so the parts always cover the class exactly once.
      const end = k === fractions.length - 1 ? group.length : Math.round(cumulative * group.length);
      parts[k]?.push(...group.slice(start, end));
      start = end;
    });
  }
  return parts.map((p, k) => shuffled(p, seed + 104729 * (k + 1)));
}

/**
 * A stratified `fraction` of `labels`' indices (at least one per class). Subsets for a smaller
 * fraction are contained in those for a larger one with the same seed: they are prefixes of one order.
 */
export function stratifiedSubset(labels: readonly number[], fraction: number, seed: number): number[] {
  if (!(fraction > 0 && fraction <= 1)) {
    throw new DistilleryDemoError('OPTION_INVALID', `--labelled-fraction must be in (0, 1], got ${fraction}`);
  }
  const picked = shuffledByClass(labels, seed).flatMap((g) => g.slice(0, Math.max(1, Math.round(fraction * g.length))));
  return shuffled(picked, seed + 15485863);
}
