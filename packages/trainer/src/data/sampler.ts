/**
 * Orders in which an epoch visits an in-memory dataset. Each draws from the loader's `Rng`,
 * whose state is checkpointed, so a resumed epoch replays the same order.
 */
import type { Rng } from './rng.js';

export function sequentialOrder(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function randomOrder(n: number, rng: Rng): number[] {
  return rng.permutation(n);
}

/**
 * HF's LengthGroupedSampler: shuffle, cut into mega-batches of 50 batches, sort each by length
 * (longest first) so batches hold similar lengths (less padding), then put the longest example
 * first so an out-of-memory shows up on step one, not hours in.
 */
export function lengthGroupedOrder(lengths: readonly number[], batchSize: number, rng: Rng): number[] {
  const perm = rng.permutation(lengths.length);
  const mega = batchSize * 50;
  const groups: number[][] = [];
  for (let i = 0; i < perm.length; i += mega) {
    groups.push(perm.slice(i, i + mega).sort((a, b) => lengths[b]! - lengths[a]!));
  }
  const heads = groups.map((g) => lengths[g[0]!]!);
  const longest = heads.indexOf(Math.max(...heads));
  const first = groups[0]!;
  const top = groups[longest]!;
  [first[0], top[0]] = [top[0]!, first[0]!];
  return groups.flat();
}
