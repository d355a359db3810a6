/**
 * Extractive question answering (SQuAD) as HF's `run_qa.py` prepares it: question + context
 * pairs, contexts longer than `maxLength` split into overlapping windows (`docStride` tokens
 * shared between neighbours), each window a feature with its tokens' character offsets into
 * the context; the answer's start/end token positions, or (0, 0) — the first token, [CLS] —
 * when the answer is not wholly inside the window or the question has none (SQuAD v2's
 * impossible questions train on [CLS], as `run_qa.py --version_2_with_negative`). Predictions
 * come back through `postprocessQaPredictions`: the best-scoring valid span over all windows of
 * an example, or no answer when [CLS] outscores it (SQuAD v2).
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryTrainerError } from '../errors.js';
import { DataCollatorWithPadding, type DataCollator, type DataCollatorWithPaddingOptions, type ModelInputs } from './collator.js';
import type { Example } from './dataset.js';
import { tokenIds, type TaskTokenizer } from './task-tokenizer.js';

export interface SquadExample {
  id: string;
  question: string;
  context: string;
  /** Gold answers (SQuAD's `answers`); the first one trains, all of them score; none: no answer (SQuAD v2). */
  answers: Array<{ text: string; answerStart: number }>;
}

export interface QuestionAnsweringFeature extends Example {
  /** Index of the example in the list given to `questionAnsweringFeatures`. */
  exampleIndex: number;
  /** Per token: `[start, end)` characters in the context, null outside the context. */
  offsets: Array<readonly [number, number] | null>;
  startPosition: number;
  endPosition: number;
}

export interface QuestionAnsweringOptions {
  /** Tokens per feature, special tokens included. */
  maxLength: number;
  /** Context tokens shared by two neighbouring windows. HF default 128 (for 384-token features). */
  docStride: number;
}

export function questionAnsweringFeatures(examples: readonly SquadExample[], tokenizer: TaskTokenizer, options: QuestionAnsweringOptions): QuestionAnsweringFeature[] {
  const features: QuestionAnsweringFeature[] = [];
  examples.forEach((example, exampleIndex) => {
    // HF strips the question's leading whitespace: some SQuAD questions start with many spaces.
    const question = tokenIds(tokenizer, tokenizer.tokenize(example.question.trimStart()), example.question);
    const budget = options.maxLength - question.length - tokenizer.numSpecialTokens(true);
    if (budget <= options.docStride) {
      throw new DistilleryTrainerError('DATASET_INVALID', `question ${example.id}: ${question.length} question tokens leave ${budget} context tokens per ${options.maxLength}-token feature, not more than docStride ${options.docStride}; raise maxLength or lower docStride.`);
    }
    const { tokens, offsets: contextOffsets } = tokenizer.tokenizeWithOffsets(example.context);
    const context = { ids: tokenIds(tokenizer, tokens, example.context), offsets: contextOffsets };
    const answer = example.answers[0];
    const [answerStart, answerEnd] = answer ? [answer.answerStart, answer.answerStart + answer.text.length] : [-1, -1];
    for (let from = 0; ; from += budget - options.docStride) {
      const to = Math.min(from + budget, context.ids.length);
      const built = tokenizer.buildInputs(question, context.ids.slice(from, to));
      let next = from;
      const offsets = built.sequenceIds.map((s) => (s === 1 ? context.offsets[next++]! : null));
      // The answer's tokens: the first whose span ends after its start, the last that starts before its end.
      let [startPosition, endPosition] = [0, 0];
      const first = offsets.findIndex((o) => o !== null);
      const last = offsets.length - 1 - [...offsets].reverse().findIndex((o) => o !== null);
      if (answer && first >= 0 && offsets[first]![0] <= answerStart && offsets[last]![1] >= answerEnd) {
        startPosition = offsets.findIndex((o) => o !== null && o[1] > answerStart);
        endPosition = offsets.length - 1 - [...offsets].reverse().findIndex((o) => o !== null && o[0] < answerEnd);
      }
      features.push({ inputIds: built.inputIds, tokenTypeIds: built.tokenTypeIds, exampleIndex, offsets, startPosition, endPosition });
      if (to >= context.ids.length) break;
    }
  });
  return features;
}

export interface QaPostprocessOptions {
  /** Start and end candidates kept per feature. Default 20 (HF). */
  nBest?: number;
  /** Longest answer in tokens. Default 30 (HF). */
  maxAnswerLength?: number;
  /**
   * SQuAD v2 (`--version_2_with_negative`): an example may have no answer, predicted (as '')
   * when its null score — [CLS] start + end, the lowest over its windows — beats the best span's
   * score by more than `nullScoreDiffThreshold`. Default false.
   */
  version2WithNegative?: boolean;
  /** HF's `null_score_diff_threshold`. Default 0. */
  nullScoreDiffThreshold?: number;
}

/** Indices of the `n` largest values. */
function topIndices(values: readonly number[], n: number): number[] {
  return values.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, n).map(([, i]) => i);
}

/**
 * The predicted answer text of every example: over all its features, the context span with the
 * highest start + end logit among the n-best starts and ends, end ≥ start, at most
 * `maxAnswerLength` tokens (HF's `postprocess_qa_predictions`); with `version2WithNegative`, ''
 * (no answer) where the null score wins. `predictions[f]` holds feature f's `[S][2]` (start, end) logits.
 */
export function postprocessQaPredictions(examples: readonly SquadExample[], features: readonly QuestionAnsweringFeature[], predictions: ReadonlyArray<ReadonlyArray<readonly number[]>>, options: QaPostprocessOptions = {}): string[] {
  const nBest = options.nBest ?? 20;
  const maxLen = options.maxAnswerLength ?? 30;
  if (predictions.length !== features.length) {
    throw new DistilleryTrainerError('DATASET_INVALID', `postprocessQaPredictions: ${predictions.length} predictions for ${features.length} features; predict every feature, in order.`);
  }
  const best = examples.map(() => ({ score: -Infinity, text: '', nullScore: Infinity }));
  features.forEach((feature, f) => {
    const logits = predictions[f]!;
    const starts = logits.map((l) => l[0]!);
    const ends = logits.map((l) => l[1]!);
    const context = examples[feature.exampleIndex]!.context;
    const current = best[feature.exampleIndex]!;
    // HF keeps the lowest [CLS] score over the example's windows as its null score.
    current.nullScore = Math.min(current.nullScore, starts[0]! + ends[0]!);
    for (const s of topIndices(starts, nBest)) {
      for (const e of topIndices(ends, nBest)) {
        const [os, oe] = [feature.offsets[s], feature.offsets[e]];
        if (!os || !oe || e < s || e - s + 1 > maxLen) continue;
        const score = starts[s]! + ends[e]!;
        const text = context.slice(os[0], oe[1]);
        // SQuAD v2 weighs the null score against the best span that has text.
        if (score > current.score && (!options.version2WithNegative || text !== '')) Object.assign(current, { score, text });
      }
    }
  });
  if (!options.version2WithNegative) return best.map((b) => b.text);
  const threshold = options.nullScoreDiffThreshold ?? 0;
  // With no span at all HF's fallback prediction scores 0.
  return best.map((b) => (b.nullScore - (b.score === -Infinity ? 0 : b.score) > threshold ? '' : b.text));
}

/** Batches of features: padded inputs plus start/end positions `[B]`, and the same as labels `[B, 2]`. */
export interface QuestionAnsweringInputs extends ModelInputs {
  startPositions: tf.Tensor1D;
  endPositions: tf.Tensor1D;
}

export class DataCollatorForQuestionAnswering implements DataCollator<Example & { startPosition: number; endPosition: number }, QuestionAnsweringInputs> {
  private readonly padding: DataCollatorWithPadding;

  constructor(options: Pick<DataCollatorWithPaddingOptions, 'padTokenId' | 'padToMultipleOf'> = {}) {
    this.padding = new DataCollatorWithPadding(options);
  }

  collate(examples: ReadonlyArray<Example & { startPosition: number; endPosition: number }>): QuestionAnsweringInputs {
    const inputs = this.padding.collate(examples);
    const starts = examples.map((e) => e.startPosition);
    const ends = examples.map((e) => e.endPosition);
    return {
      ...inputs,
      startPositions: tf.tensor1d(starts, 'int32'),
      endPositions: tf.tensor1d(ends, 'int32'),
      // Distillation plugins read the positions as (start, end) labels.
      labels: tf.tensor2d(examples.map((_, i) => [starts[i]!, ends[i]!]), [examples.length, 2], 'int32'),
    };
  }
}
