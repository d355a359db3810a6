/**
 * A toy sentiment task for the CLI tests: a 22-token WordPiece tokenizer folder and JSONL files
 * whose label is 1 iff the sentence holds a positive word (it always holds one cue word).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeWordPieceTokenizer } from '@distillery/models';
import { Rng } from '@distillery/trainer';

const POSITIVE = ['good', 'great', 'fine'];
const NEGATIVE = ['bad', 'awful', 'poor'];
const FILLER = ['the', 'movie', 'film', 'was', 'is', 'a', 'very', 'plot', 'acting', 'really', 'quite'];
export const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...POSITIVE, ...NEGATIVE, ...FILLER];
/** Another tokenizer for the same sentences: specials first, then other ids; "movie", "acting", "awful" only as pieces (26 tokens). */
export const OTHER_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'zzz', ...VOCAB.slice(5).filter((w) => !['movie', 'acting', 'awful'].includes(w)).reverse(), 'mov', '##ie', 'act', '##ing', 'aw', '##ful'];

export interface Row {
  text: string;
  label: number;
}

export function sentimentRows(n: number, seed: number): Row[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const label = rng.int(2);
    const words = Array.from({ length: 3 + rng.int(5) }, () => FILLER[rng.int(FILLER.length)]!);
    words.splice(rng.int(words.length + 1), 0, (label ? POSITIVE : NEGATIVE)[rng.int(3)]!);
    return { text: words.join(' '), label };
  });
}

export function writeJsonl(file: string, rows: readonly object[]): string {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

/** tok/, train.jsonl (96 rows), eval.jsonl (48 rows) in `dir`. */
export function writeTask(dir: string): { tokenizer: string; train: string; eval: string } {
  return {
    tokenizer: writeWordPieceTokenizer(VOCAB, join(dir, 'tok'), { modelMaxLength: 32 }),
    train: writeJsonl(join(dir, 'train.jsonl'), sentimentRows(96, 1)),
    eval: writeJsonl(join(dir, 'eval.jsonl'), sentimentRows(48, 2)),
  };
}

/** An HF config.json object for a small random BERT over VOCAB. */
export function bertConfig(hidden: number, layers: number): Record<string, unknown> {
  return { model_type: 'bert', vocab_size: VOCAB.length, hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: 2, intermediate_size: 2 * hidden, max_position_embeddings: 64 };
}
