/**
 * Metrics of the non-classification tasks, with the reference tools' definitions:
 * seqeval's entity-level precision/recall/F1 on IOB2 tags (default, non-strict mode), the
 * official SQuAD v1.1 exact match and token F1 over normalised answers, and MLM perplexity.
 */
import type { EvalPrediction } from './metrics.js';

/** An entity: type and `[start, end]` token indices (inclusive). */
type Chunk = readonly [string, number, number];

function split(tag: string): [prefix: string, type: string] {
  if (tag === 'O' || tag.length === 0) return ['O', ''];
  const dash = tag.indexOf('-');
  return dash < 0 ? [tag, ''] : [tag.slice(0, dash), tag.slice(dash + 1)];
}

/**
 * Entities of one tag sequence, as seqeval (conlleval) reads them: a chunk starts at `B-X`,
 * or at `I-X` after anything but a chunk of type X, and runs over the `I-X` that follow.
 */
export function iob2Chunks(tags: readonly string[]): Chunk[] {
  const chunks: Chunk[] = [];
  let open: { type: string; start: number } | undefined;
  tags.forEach((tag, i) => {
    const [prefix, type] = split(tag);
    const continues = open !== undefined && prefix === 'I' && type === open.type;
    if (open && !continues) {
      chunks.push([open.type, open.start, i - 1]);
      open = undefined;
    }
    if (!continues && (prefix === 'B' || prefix === 'I')) open = { type, start: i };
  });
  if (open) chunks.push([open.type, open.start, tags.length - 1]);
  return chunks;
}

/** seqeval's micro-averaged entity precision, recall and F1, and token accuracy, over sentences. */
export function seqevalMetrics(predicted: ReadonlyArray<readonly string[]>, gold: ReadonlyArray<readonly string[]>): { precision: number; recall: number; f1: number; accuracy: number } {
  let [correct, nPred, nGold, tokens, right] = [0, 0, 0, 0, 0];
  gold.forEach((g, s) => {
    const p = predicted[s]!;
    const key = (c: Chunk): string => c.join('\u0000');
    const goldChunks = new Set(iob2Chunks(g).map(key));
    const predChunks = iob2Chunks(p).map(key);
    correct += predChunks.filter((c) => goldChunks.has(c)).length;
    nPred += predChunks.length;
    nGold += goldChunks.size;
    tokens += g.length;
    right += g.filter((t, i) => t === p[i]).length;
  });
  const precision = nPred === 0 ? 0 : correct / nPred;
  const recall = nGold === 0 ? 0 : correct / nGold;
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall), accuracy: tokens === 0 ? 0 : right / tokens };
}

/**
 * `computeMetrics` for token classification: argmax tags at labelled positions (`-100` dropped),
 * sentence by sentence, scored with `seqevalMetrics`.
 */
export function tokenClassificationMetrics(labelList: readonly string[]): (p: EvalPrediction) => Record<string, number> {
  return (p) => {
    const predicted: string[][] = [];
    const gold: string[][] = [];
    p.predictions.forEach((pred, i) => {
      const labels = p.labelIds?.[i];
      if (!Array.isArray(labels)) return;
      const [ps, gs] = [[] as string[], [] as string[]];
      (labels as readonly number[]).forEach((l, t) => {
        if (l === -100) return;
        const row = (pred as number[][])[t]!;
        ps.push(labelList[row.indexOf(Math.max(...row))]!);
        gs.push(labelList[l]!);
      });
      predicted.push(ps);
      gold.push(gs);
    });
    return seqevalMetrics(predicted, gold);
  };
}

/** SQuAD's `normalize_answer`: lower case, no punctuation, no articles, single spaces. */
export function normalizeAnswer(text: string): string {
  return text.toLowerCase().replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '').replace(/\b(a|an|the)\b/g, ' ').split(/\s+/).filter(Boolean).join(' ');
}

function tokenF1(prediction: string, gold: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD v1.1 exact match and F1 (percentages), each the max over an example's gold answers, averaged. */
export function squadMetrics(predictions: readonly string[], golds: ReadonlyArray<readonly string[]>): { exactMatch: number; f1: number } {
  let [em, f1] = [0, 0];
  golds.forEach((answers, i) => {
    const p = predictions[i]!;
    em += Math.max(0, ...answers.map((g) => (normalizeAnswer(p) === normalizeAnswer(g) ? 1 : 0)));
    f1 += Math.max(0, ...answers.map((g) => tokenF1(p, g)));
  });
  const n = Math.max(golds.length, 1);
  return { exactMatch: (100 * em) / n, f1: (100 * f1) / n };
}

/** SQuAD v2 scores over all questions, and over those with answers (HasAns) and without (NoAns); percentages. */
export interface SquadV2Metrics {
  exact: number;
  f1: number;
  total: number;
  HasAns_exact?: number;
  HasAns_f1?: number;
  HasAns_total?: number;
  NoAns_exact?: number;
  NoAns_f1?: number;
  NoAns_total?: number;
}

/**
 * The official SQuAD v2.0 evaluation (`evaluate-v2.0.py`, HF's `squad_v2` metric without the
 * no-answer-probability search): a question with no answer (no gold text that survives
 * normalisation) is right only when the prediction is '' too; exact / F1 are maxed over gold
 * answers and averaged, and split into HasAns / NoAns where each group has questions.
 */
export function squadV2Metrics(predictions: readonly string[], golds: ReadonlyArray<readonly string[]>): SquadV2Metrics {
  const scores = golds.map((answers, i) => {
    const p = normalizeAnswer(predictions[i]!);
    const texts = answers.map(normalizeAnswer).filter((g) => g !== '');
    const gold = texts.length > 0 ? texts : [''];
    return {
      hasAns: answers.length > 0,
      exact: Math.max(...gold.map((g) => (p === g ? 1 : 0))),
      // Empty against empty is a match; empty against text scores 0 (tokenF1 finds nothing in common).
      f1: Math.max(...gold.map((g) => (g === '' && p === '' ? 1 : tokenF1(p, g)))),
    };
  });
  const group = (xs: typeof scores) => ({
    exact: (100 * xs.reduce((a, x) => a + x.exact, 0)) / Math.max(xs.length, 1),
    f1: (100 * xs.reduce((a, x) => a + x.f1, 0)) / Math.max(xs.length, 1),
    total: xs.length,
  });
  const out: SquadV2Metrics = group(scores);
  for (const [prefix, xs] of [['HasAns', scores.filter((x) => x.hasAns)], ['NoAns', scores.filter((x) => !x.hasAns)]] as const) {
    if (xs.length === 0) continue;
    const g = group(xs);
    Object.assign(out, { [`${prefix}_exact`]: g.exact, [`${prefix}_f1`]: g.f1, [`${prefix}_total`]: g.total });
  }
  return out;
}

/** `exp(loss)` of a mean token cross-entropy (nats), as HF's run_mlm reports; Infinity past float range. */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}
