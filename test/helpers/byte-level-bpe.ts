/**
 * A small RoBERTa-style tokenizer folder (byte-level BPE, `<s> A </s></s> B </s>`), laid out as
 * `RobertaTokenizerFast.save_pretrained` writes it, so tests can check byte-level behaviour
 * (the leading-space marker `Ġ`) against transformers.js without a hub download.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToUnicode } from '@distillery/models';

export const ROBERTA_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'] as const;

/**
 * Write the folder. `words` become single tokens (merged left to right, a character at a time);
 * a leading space in a word is the `Ġ` marker, as in " York" → `ĠYork`. Everything else falls
 * back to the 256 byte tokens.
 */
export function writeByteLevelBpeTokenizer(dir: string, words: readonly string[]): string {
  const table = bytesToUnicode();
  const vocab = new Map<string, number>(ROBERTA_SPECIALS.map((t, i) => [t, i]));
  const add = (t: string) => {
    if (!vocab.has(t)) vocab.set(t, vocab.size);
  };
  table.forEach(add);
  const merges: string[] = [];
  for (const word of words) {
    const chars = [...Buffer.from(word, 'utf8')].map((b) => table[b]!);
    let left = chars[0]!;
    for (const c of chars.slice(1)) {
      const merge = `${left} ${c}`;
      if (!merges.includes(merge)) merges.push(merge);
      left += c;
      add(left);
    }
  }
  const special = (t: string) => ({ id: vocab.get(t)!, content: t, single_word: false, lstrip: t === '<mask>', rstrip: false, normalized: false, special: true });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ROBERTA_SPECIALS.map(special),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: Object.fromEntries(vocab), merges },
  };
  const tokenizerConfig = {
    add_prefix_space: false,
    bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', sep_token: '</s>', pad_token: '<pad>', mask_token: '<mask>', unk_token: '<unk>',
    model_max_length: 512,
    tokenizer_class: 'RobertaTokenizer',
    clean_up_tokenization_spaces: false,
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  return dir;
}
