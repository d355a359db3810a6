/**
 * What the task readers need from a tokenizer, structurally (`@distillery/models`' AutoTokenizer
 * fits; the trainer imports no model package). Readers tokenize one word at a time, as HF's
 * `is_split_into_words` does, so every sub-token knows its word and its characters.
 */
import { DistilleryTrainerError } from '../errors.js';

export interface TaskTokenizer {
  /** Text → sub-tokens, no special tokens. */
  tokenize(text: string): string[];
  tokenToId(token: string): number | undefined;
  /** Ids with the template's special tokens around one or two segments; `sequenceIds` null = special. */
  buildInputs(a: readonly number[], b?: readonly number[]): { inputIds: number[]; tokenTypeIds: number[]; sequenceIds: Array<0 | 1 | null> };
  numSpecialTokens(pair?: boolean): number;
}

/** A word's sub-token ids, or a typed error when the tokenizer's own output is not in its vocabulary. */
export function wordIds(tokenizer: TaskTokenizer, word: string): { pieces: string[]; ids: number[] } {
  const pieces = tokenizer.tokenize(word);
  const ids = pieces.map((p) => {
    const id = tokenizer.tokenToId(p);
    if (id === undefined) throw new DistilleryTrainerError('DATASET_INVALID', `tokenizer produced ${JSON.stringify(p)} for ${JSON.stringify(word)} but has no id for it; the tokenizer files are inconsistent, re-save them.`);
    return id;
  });
  return { pieces, ids };
}

/**
 * Words of a text with their character spans, split as BERT's basic tokenizer does: runs of
 * letters/digits, and every other non-space character on its own.
 */
export function splitWords(text: string): Array<{ word: string; start: number; end: number }> {
  return [...text.matchAll(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }));
}
