/**
 * Task readers, collators and metrics on a real WordPiece tokenizer: word→sub-token label
 * alignment, SQuAD windows with a stride and span post-processing, MLM masking rates, seqeval
 * and SQuAD scoring against the reference tools' documented results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, writeWordPieceTokenizer } from '@distillery/models';
import {
  DataCollatorForLanguageModeling, DataCollatorForQuestionAnswering, initBackend, iob2Chunks, languageModelingExamples, maskTokens, normalizeAnswer,
  postprocessQaPredictions, questionAnsweringFeatures, Rng, seqevalMetrics, squadMetrics, squadV2Metrics, tokenClassificationExamples, type SquadExample,
} from '@distillery/trainer';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'john', 'lives', 'in', 'new', 'york', 'where', 'does', 'he', 'live', '?', '.', 'un', '##believ', '##able', 'city', 'the', 'is', 'big'];
const tmp = mkdtempSync(join(tmpdir(), 'distillery-tasks-'));
let tokenizer: AutoTokenizer;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  tokenizer = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(VOCAB, join(tmp, 'tok')));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const id = (t: string): number => VOCAB.indexOf(t);

describe('token classification alignment', () => {
  const labelList = ['O', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
  const rows = [{ tokens: ['unbelievable', 'New', 'York'], tags: ['B-MISC', 'B-LOC', 'I-LOC'] }];

  it('labels a word\'s first sub-token, -100 for the rest and for special tokens', () => {
    const [e] = tokenClassificationExamples(rows, tokenizer, { labelList, maxLength: 16 });
    expect(e!.inputIds).toEqual([id('[CLS]'), id('un'), id('##believ'), id('##able'), id('new'), id('york'), id('[SEP]')]);
    expect(e!.labels).toEqual([-100, 3, -100, -100, 1, 2, -100]);
  });

  it('labelAllTokens gives later sub-tokens the I- label; truncation keeps [SEP]', () => {
    const [all] = tokenClassificationExamples(rows, tokenizer, { labelList, maxLength: 16, labelAllTokens: true });
    expect(all!.labels).toEqual([-100, 3, 4, 4, 1, 2, -100]);
    const [cut] = tokenClassificationExamples(rows, tokenizer, { labelList, maxLength: 4 });
    expect(cut!.inputIds).toEqual([id('[CLS]'), id('un'), id('##believ'), id('[SEP]')]);
    expect(cut!.labels).toEqual([-100, 3, -100, -100]);
  });

  it('names the row and tag a model cannot score', () => {
    expect(() => tokenClassificationExamples([{ tokens: ['john'], tags: ['B-PER'] }], tokenizer, { labelList, maxLength: 8, where: (i) => `train.jsonl:${i + 1}` }))
      .toThrow(/train\.jsonl:1: tag "B-PER" \(token 0\) is not a label of the model \(O, B-LOC, I-LOC, B-MISC, I-MISC\)/);
  });
});

describe('question answering features', () => {
  const context = 'john lives in new york . the city is big . unbelievable .';
  const example: SquadExample = { id: 'q1', question: '  where does he live ?', context, answers: [{ text: 'new york', answerStart: context.indexOf('new york') }] };

  it('splits a long context into strided windows; every window holding the answer points at it', () => {
    const features = questionAnsweringFeatures([example], tokenizer, { maxLength: 14, docStride: 3 });
    expect(features.length).toBeGreaterThan(1);
    for (const f of features) {
      expect(f.inputIds.length).toBeLessThanOrEqual(14);
      expect(f.inputIds.slice(0, 7)).toEqual([id('[CLS]'), id('where'), id('does'), id('he'), id('live'), id('?'), id('[SEP]')]);
      if (f.startPosition === 0) continue;
      const [s, e] = [f.offsets[f.startPosition]!, f.offsets[f.endPosition]!];
      expect(context.slice(s[0], e[1])).toBe('new york');
    }
    // Neighbouring windows share docStride context tokens.
    const ctx = (i: number) => features[i]!.offsets.filter((o) => o !== null).map((o) => o![0]);
    expect(ctx(0).slice(-3)).toEqual(ctx(1).slice(0, 3));
    // Sub-token offsets are exact when the pieces spell the word.
    const last = features.at(-1)!;
    const un = last.inputIds.indexOf(id('##believ'));
    expect(context.slice(...last.offsets[un]!)).toBe('believ');
  });

  it('post-processing takes the best valid span over all windows', () => {
    const features = questionAnsweringFeatures([example], tokenizer, { maxLength: 14, docStride: 3 });
    const target = features.findIndex((f) => f.startPosition > 0);
    const logits = features.map((f, i) => f.inputIds.map((_, t) => [
      i === target && t === f.startPosition ? 5 : t === 0 ? 9 : 0, // [CLS] scores high but is no context span
      i === target && t === f.endPosition ? 5 : 0,
    ]));
    expect(postprocessQaPredictions([example], features, logits)).toEqual(['new york']);
    // An end before the start is never chosen.
    const reversed = features.map((f, i) => f.inputIds.map((_, t) => [i === target && t === f.endPosition ? 5 : 0, i === target && t === f.startPosition ? 5 : 0]));
    expect(postprocessQaPredictions([example], features, reversed)).not.toEqual(['york new']);
  });

  it('SQuAD v2: no answer when the lowest [CLS] score over the windows beats the best span by more than the threshold', () => {
    const features = questionAnsweringFeatures([example], tokenizer, { maxLength: 14, docStride: 3 });
    const target = features.findIndex((f) => f.startPosition > 0);
    // Span "new york" scores 3 + 3 = 6 in its window; [CLS] scores 4 + 4 = 8 there and 9 + 9 elsewhere.
    const logits = features.map((f, i) => f.inputIds.map((_, t) => [
      t === 0 ? (i === target ? 4 : 9) : i === target && t === f.startPosition ? 3 : 0,
      t === 0 ? (i === target ? 4 : 9) : i === target && t === f.endPosition ? 3 : 0,
    ]));
    expect(postprocessQaPredictions([example], features, logits)).toEqual(['new york']); // v1 never abstains
    const v2 = (nullScoreDiffThreshold?: number) => postprocessQaPredictions([example], features, logits, { version2WithNegative: true, ...(nullScoreDiffThreshold !== undefined && { nullScoreDiffThreshold }) });
    // Null score = min over windows = 8; 8 - 6 = 2 > 0 → no answer; a threshold of 2 keeps the span.
    expect(v2()).toEqual(['']);
    expect(v2(1.99)).toEqual(['']);
    expect(v2(2)).toEqual(['new york']);
  });

  it('collates positions as [B] tensors and (start, end) labels [B, 2]', () => {
    const features = questionAnsweringFeatures([example], tokenizer, { maxLength: 14, docStride: 3 });
    const batch = new DataCollatorForQuestionAnswering().collate(features);
    expect(batch.labels!.shape).toEqual([features.length, 2]);
    expect(Array.from(batch.startPositions.dataSync())).toEqual(features.map((f) => f.startPosition));
    tf.dispose(batch as unknown as tf.TensorContainer);
  });
});

describe('masked LM', () => {
  const options = { vocabSize: VOCAB.length, maskTokenId: id('[MASK]'), specialTokenIds: [0, 2, 3] };

  it('groups texts into blocks with special tokens', () => {
    const blocks = languageModelingExamples(['john lives in new york .', 'the city is big .'], tokenizer, { maxLength: 6 });
    expect(blocks.map((b) => b.inputIds.length)).toEqual([6, 6, 5]);
    expect(blocks.every((b) => b.inputIds[0] === id('[CLS]') && b.inputIds.at(-1) === id('[SEP]'))).toBe(true);
  });

  it('chooses 15% of non-special tokens: 80% [MASK], 10% random, 10% kept; specials never; seeded', () => {
    const ids = Array.from({ length: 20000 }, (_, i) => (i % 10 === 0 ? 2 : 5 + (i % 17)));
    const { inputIds, labels } = maskTokens(ids, new Rng(3), options);
    const chosen = labels.map((l, i) => [l, i] as const).filter(([l]) => l !== -100).map(([, i]) => i);
    expect(chosen.every((i) => ids[i] !== 2)).toBe(true);
    expect(chosen.length / 18000).toBeCloseTo(0.15, 1);
    const masked = chosen.filter((i) => inputIds[i] === id('[MASK]')).length / chosen.length;
    const kept = chosen.filter((i) => inputIds[i] === ids[i]).length / chosen.length;
    expect(masked).toBeGreaterThan(0.77);
    expect(masked).toBeLessThan(0.83);
    expect(kept).toBeGreaterThan(0.08); // 10% kept + random draws that hit the same id
    expect(kept).toBeLessThan(0.14);
    expect(labels.every((l, i) => l === -100 ? inputIds[i] === ids[i] : l === ids[i])).toBe(true);
    expect(maskTokens(ids, new Rng(3), options)).toEqual({ inputIds, labels });
  });

  it('the collator masks and pads each batch; labels -100 at padding', () => {
    const collator = new DataCollatorForLanguageModeling({ ...options, mlmProbability: 0.5, seed: 1 });
    const batch = collator.collate([{ inputIds: [2, 5, 6, 7, 8, 3] }, { inputIds: [2, 9, 3] }]);
    const labels = batch.labels!.arraySync() as number[][];
    expect(labels[1]!.slice(3)).toEqual([-100, -100, -100]);
    expect(labels.flat().some((l) => l !== -100)).toBe(true);
    tf.dispose(batch as unknown as tf.TensorContainer);
  });
});

describe('metrics', () => {
  it('seqeval: the README example scores F1 0.5; I- after O opens a chunk', () => {
    const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const m = seqevalMetrics(pred, gold);
    expect(m.f1).toBeCloseTo(0.5, 10);
    expect(m.precision).toBeCloseTo(0.5, 10);
    expect(iob2Chunks(['O', 'I-LOC', 'I-LOC', 'B-LOC', 'I-PER'])).toEqual([['LOC', 1, 2], ['LOC', 3, 3], ['PER', 4, 4]]);
  });

  it('SQuAD v2: no-answer questions match only an empty prediction; HasAns / NoAns splits', () => {
    const m = squadV2Metrics(
      ['New York', '', '', 'big', 'big city', ''],
      [['new york'], [], ['a big apple', 'city'], [], ['city'], ['The']],
    );
    // exact: 1, 1, 0, 0, 0, 1 ("The" normalises to nothing: the question counts as answerable, '' matches it).
    // f1:    1, 1, 0, 0, 2/3 (P 1/2, R 1), 1.
    expect(m.total).toBe(6);
    expect(m.exact).toBeCloseTo(100 * 3 / 6, 10);
    expect(m.f1).toBeCloseTo(100 * (3 + 2 / 3) / 6, 10);
    expect([m.HasAns_total, m.NoAns_total]).toEqual([4, 2]);
    expect(m.HasAns_exact).toBeCloseTo(100 * 2 / 4, 10);
    expect(m.HasAns_f1).toBeCloseTo(100 * (2 + 2 / 3) / 4, 10);
    expect(m.NoAns_exact).toBeCloseTo(50, 10);
    expect(m.NoAns_f1).toBeCloseTo(50, 10);
    // No NoAns questions: no NoAns keys (as the official script).
    expect(Object.keys(squadV2Metrics(['x'], [['x']])).sort()).toEqual(['HasAns_exact', 'HasAns_f1', 'HasAns_total', 'exact', 'f1', 'total']);
  });

  it('SQuAD: normalised exact match and token F1, max over gold answers', () => {
    expect(normalizeAnswer('The  New-York City!')).toBe('newyork city');
    const m = squadMetrics(['the new york', 'big city'], [['New York'], ['a big apple', 'city']]);
    expect(m.exactMatch).toBeCloseTo(50, 10);
    // Second: vs "big apple" P=1/2 R=1/2 → 0.5; vs "city" P=1/2 R=1 → 2/3.
    expect(m.f1).toBeCloseTo(100 * (1 + 2 / 3) / 2, 10);
  });
});
