/**
 * Token classification (NER, POS) examples from pre-split words and their tags, aligned to
 * sub-tokens as HF's `run_ner.py` does: words tokenized with `is_split_into_words=True` (so a
 * RoBERTa word gets its leading-space token, `ĠJohn`), a word's first sub-token carries its label,
 * the others `-100` (or, with `labelAllTokens`, the label too, `B-X` turned into `I-X`); special tokens `-100`.
 */
import { DistilleryTrainerError } from '../errors.js';
import type { Example } from './dataset.js';
import { tokenIds, type TaskTokenizer } from './task-tokenizer.js';

export interface TokenClassificationRow {
  tokens: readonly string[];
  tags: readonly string[];
}

export interface TokenClassificationOptions {
  /** Tag names in label-id order (the model's id2label). */
  labelList: readonly string[];
  /** Tokens per example, special tokens included; later words are cut. */
  maxLength: number;
  /** Label every sub-token of a word, not only the first. Default false. */
  labelAllTokens?: boolean;
  /** Names rows in errors (`train.jsonl:3`); default `row`. */
  where?: (index: number) => string;
}

/** `B-PER` → `I-PER` when `I-PER` is a label; otherwise the label itself. */
function insideOf(label: string, ids: ReadonlyMap<string, number>): number {
  const inside = label.startsWith('B-') ? `I-${label.slice(2)}` : label;
  return ids.get(inside) ?? ids.get(label)!;
}

export function tokenClassificationExamples(rows: readonly TokenClassificationRow[], tokenizer: TaskTokenizer, options: TokenClassificationOptions): Example[] {
  const ids = new Map(options.labelList.map((l, i) => [l, i]));
  const where = options.where ?? ((i: number) => `row ${i}`);
  const budget = options.maxLength - tokenizer.numSpecialTokens(false);
  return rows.map((row, r) => {
    if (row.tokens.length !== row.tags.length) {
      throw new DistilleryTrainerError('DATASET_INVALID', `${where(r)}: ${row.tokens.length} tokens but ${row.tags.length} tags; give one tag per token.`);
    }
    const pieceIds: number[] = [];
    const labels: number[] = [];
    const words = tokenizer.tokenizeWords(row.tokens);
    row.tokens.forEach((word, w) => {
      const tag = row.tags[w]!;
      const label = ids.get(tag);
      if (label === undefined) throw new DistilleryTrainerError('DATASET_INVALID', `${where(r)}: tag ${JSON.stringify(tag)} (token ${w}) is not a label of the model (${options.labelList.join(', ')}); fix the tag or the model's id2label.`);
      tokenIds(tokenizer, words[w]!, word).forEach((id, k) => {
        pieceIds.push(id);
        labels.push(k === 0 ? label : options.labelAllTokens ? insideOf(tag, ids) : -100);
      });
    });
    const built = tokenizer.buildInputs(pieceIds.slice(0, budget));
    let next = 0;
    return {
      inputIds: built.inputIds,
      tokenTypeIds: built.tokenTypeIds,
      labels: built.sequenceIds.map((s) => (s === null ? -100 : labels[next++]!)),
    };
  });
}

/** Label names present in `rows`, sorted (a fresh model's id2label when none is given). */
export function tagSet(rows: readonly TokenClassificationRow[]): string[] {
  return [...new Set(rows.flatMap((r) => r.tags))].sort();
}
