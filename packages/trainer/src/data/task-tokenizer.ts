/**
 * What the task readers need from a tokenizer, structurally (`@distillery/models`' AutoTokenizer
 * fits; the trainer imports no model package), in HF's terms: pre-split words tokenized as
 * `is_split_into_words=True` does (token classification), whole texts with their offsets
 * mapping (question answering), whole texts (masked LM).
 */
import { DistilleryTrainerError } from '../errors.js';

export interface TaskTokenizer {
  /** Text → sub-tokens, no special tokens. */
  tokenize(text: string): string[];
  /** Pre-split words → each word's sub-tokens, as HF's `is_split_into_words=True` (RoBERTa: `ĠJohn`). */
  tokenizeWords(words: readonly string[]): string[][];
  /** Text → sub-tokens with their `[start, end)` characters (HF's `return_offsets_mapping`). */
  tokenizeWithOffsets(text: string): { tokens: string[]; offsets: Array<[number, number]> };
  tokenToId(token: string): number | undefined;
  /** Ids with the template's special tokens around one or two segments; `sequenceIds` null = special. */
  buildInputs(a: readonly number[], b?: readonly number[]): { inputIds: number[]; tokenTypeIds: number[]; sequenceIds: Array<0 | 1 | null> };
  numSpecialTokens(pair?: boolean): number;
}

/** Ids of `tokens`, or a typed error when the tokenizer's own output is not in its vocabulary. */
export function tokenIds(tokenizer: TaskTokenizer, tokens: readonly string[], source: string): number[] {
  return tokens.map((p) => {
    const id = tokenizer.tokenToId(p);
    if (id === undefined) throw new DistilleryTrainerError('DATASET_INVALID', `tokenizer produced ${JSON.stringify(p)} for ${JSON.stringify(source)} but has no id for it; the tokenizer files are inconsistent, re-save them.`);
    return id;
  });
}

/**
 * Words of a text with their character spans, split as BERT's basic tokenizer does: runs of
 * letters/digits, and every other non-space character on its own.
 */
export function splitWords(text: string): Array<{ word: string; start: number; end: number }> {
  return [...text.matchAll(/[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }));
}
