/**
 * Tokenizers from an HF folder (`tokenizer.json` + `tokenizer_config.json`) or a hub id, returning
 * what the models take: inputIds / attentionMask / tokenTypeIds.
 *
 * Tokenization runs on `@huggingface/tokenizers`, the pure-JS engine inside `@huggingface/transformers`
 * v4, imported directly and lazily: transformers.js loads onnxruntime-node and sharp natives at import
 * time, so a missing native runtime would break tokenizer use. Truncation and padding are done here
 * with HF Python semantics (truncate the text, keep [CLS]/[SEP]; pairs `longest_first`), which
 * transformers.js does not follow (it cuts the final [SEP]).
 */
import * as tf from '@tensorflow/tfjs';
import { defaultFileStore, exists, joinPath, readText, type FileStore } from '@distillery/storage';
import type { Tokenizer as Engine } from '@huggingface/tokenizers';
import { DistilleryModelsError, requirePathArgument } from './errors.js';
import { resolveModelDir, TOKENIZER_FILES, type ResolveOptions } from './hub.js';
import { chunkOffsets, tokenizerShape, whitespaceChunks, type TokenizerShape } from './token-offsets.js';
import { writeAtomic } from './modeling.js';

export interface EncodeOptions {
  /** Total length including special tokens; default `model_max_length` from tokenizer_config.json. */
  maxLength?: number;
  /** `'longest'` (or true): pad to the longest row; `'max_length'`: pad to maxLength; false: ragged rows. */
  padding?: boolean | 'longest' | 'max_length';
  /** Cut rows longer than maxLength (text tokens only; special tokens stay). */
  truncation?: boolean;
  /** Second segment per row (token type 1), as in sentence-pair tasks. */
  textPairs?: string[];
}

/** One row per text; rows have equal length when padding is on. */
export interface Encoding {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds: number[][];
}

/** Token ids with the special tokens the template adds, and which segment each position holds (null = special). */
export interface BuiltInputs {
  inputIds: number[];
  tokenTypeIds: number[];
  sequenceIds: Array<0 | 1 | null>;
}

/** Tokens of a text with the `[start, end)` characters (UTF-16 code units) each came from. */
export interface TokensWithOffsets {
  tokens: string[];
  offsets: Array<[number, number]>;
}

/** Tokenizer config values that go past this are HF's "no limit" sentinel (1e30). */
const NO_LIMIT = 1e9;

async function readTokenizerFile(store: FileStore, dir: string, file: string): Promise<Record<string, unknown>> {
  const path = joinPath(dir, file);
  if (!(await exists(store, path))) {
    throw new DistilleryModelsError('TOKENIZER_MISSING', `${path}: missing. A tokenizer folder needs tokenizer.json and tokenizer_config.json (tokenizer.save_pretrained() writes both); from a WordPiece vocab.txt, build them with writeWordPieceTokenizer().`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readText(store, path));
  } catch (cause) {
    throw new DistilleryModelsError('TOKENIZER_INVALID', `${path}: not valid JSON (${(cause as Error).message}); re-save the tokenizer.`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DistilleryModelsError('TOKENIZER_INVALID', `${path}: must hold a JSON object; re-save the tokenizer.`);
  }
  return parsed as Record<string, unknown>;
}

/** tokenizer_config.json stores special tokens as a string or, in older files, as `{content: ...}`. */
function specialToken(config: Record<string, unknown>, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

export class AutoTokenizer {
  /** Id of the pad token, undefined when tokenizer_config.json names none. */
  readonly padTokenId: number | undefined;
  /** `model_max_length` from tokenizer_config.json, undefined when unlimited. */
  readonly modelMaxLength: number | undefined;
  readonly paddingSide: 'left' | 'right';
  /** Id of `mask_token` (masked-LM inputs), undefined when tokenizer_config.json names none. */
  readonly maskTokenId: number | undefined;
  /** Number of special tokens the template adds to one text / to a pair. */
  private readonly specialsSingle: number;
  private readonly specialsPair: number;
  private readonly shape: TokenizerShape;
  /**
   * Whether inputs carry token types. HF leaves `token_type_ids` out for tokenizers whose
   * `model_input_names` lack them (RoBERTa's: its one token type would be overrun by the pair's 1s).
   */
  private readonly tokenTypes: boolean;

  private constructor(
    private readonly engine: Engine,
    /** The folder the tokenizer was read from (named in errors). */
    readonly dir: string,
    /** The store `dir` is in. */
    private readonly store: FileStore,
    config: Record<string, unknown>,
    tokenizerJson: Record<string, unknown>,
  ) {
    this.shape = tokenizerShape(tokenizerJson);
    const names = config.model_input_names;
    this.tokenTypes = Array.isArray(names) ? names.includes('token_type_ids') : (tokenizerJson.post_processor as { type?: unknown } | null)?.type !== 'RobertaProcessing';
    const pad = specialToken(config, 'pad_token');
    this.padTokenId = pad === undefined ? undefined : engine.token_to_id(pad);
    const mask = specialToken(config, 'mask_token');
    this.maskTokenId = mask === undefined ? undefined : engine.token_to_id(mask);
    const max = config.model_max_length;
    this.modelMaxLength = typeof max === 'number' && max > 0 && max < NO_LIMIT ? max : undefined;
    this.paddingSide = config.padding_side === 'left' ? 'left' : 'right';
    this.specialsSingle = this.addSpecialTokens([], null).tokens.length;
    this.specialsPair = this.addSpecialTokens([], []).tokens.length;
  }

  /** Load from a folder, or a hub id resolved through the HF cache (see resolveModelDir). */
  static async fromPretrained(idOrPath: string, options: ResolveOptions = {}): Promise<AutoTokenizer> {
    requirePathArgument(idOrPath, 'AutoTokenizer.fromPretrained');
    const store = options.store ?? defaultFileStore();
    // A tokenizer-only folder has no config.json, so local folders skip resolveModelDir's model check.
    const dir = (await store.stat(idOrPath))?.kind === 'directory' ? store.absolute(idOrPath) : await resolveModelDir(idOrPath, options);
    const tokenizerJson = await readTokenizerFile(store, dir, 'tokenizer.json');
    const config = await readTokenizerFile(store, dir, 'tokenizer_config.json');
    const { Tokenizer } = await import('@huggingface/tokenizers');
    let engine: Engine;
    try {
      engine = new Tokenizer(tokenizerJson, config);
    } catch (cause) {
      throw new DistilleryModelsError('TOKENIZER_INVALID', `${joinPath(dir, 'tokenizer.json')}: not a usable HF tokenizer (${(cause as Error).message}); re-save it with tokenizer.save_pretrained() or writeWordPieceTokenizer().`, { cause });
    }
    return new AutoTokenizer(engine, dir, store, config, tokenizerJson);
  }

  /** HF's `save_pretrained`: this tokenizer's files into `dir` (next to a saved model, say), in `options.store` (default: the one it was read from). */
  async savePretrained(dir: string, options: { store?: FileStore } = {}): Promise<void> {
    requirePathArgument(dir, 'AutoTokenizer.savePretrained');
    const store = options.store ?? this.store;
    if (store === this.store && store.absolute(dir) === this.dir) return;
    await store.mkdir(dir);
    for (const file of TOKENIZER_FILES) {
      const from = joinPath(this.dir, file);
      if (await exists(this.store, from)) await writeAtomic(joinPath(dir, file), await this.store.readFile(from), store);
    }
  }

  get vocabSize(): number {
    return this.engine.get_vocab(true).size;
  }

  /** Text → wordpieces, no special tokens (`"unaffable"` → `["una", "##ffa", "##ble"]`). */
  tokenize(text: string): string[] {
    return this.engine.tokenize(text, { add_special_tokens: false });
  }

  /**
   * HF's `is_split_into_words=True`: every word tokenized on its own. Byte-level BPE (RoBERTa,
   * GPT-2) gives each word, the first too, the leading space that marks a word start (`ĠJohn`),
   * as HF does with `add_prefix_space=True` — which it requires for pre-split words.
   */
  tokenizeWords(words: readonly string[]): string[][] {
    return words.map((w) => this.tokenize(this.shape.byteLevel && !/^\s/.test(w) ? ` ${w}` : w));
  }

  /**
   * The tokens of `text` (no special tokens) with their character spans, as HF's
   * `return_offsets_mapping` gives them (whitespace trimmed where the tokenizer sets `trim_offsets`).
   */
  tokenizeWithOffsets(text: string): TokensWithOffsets {
    const out: TokensWithOffsets = { tokens: [], offsets: [] };
    for (const { chunk, start } of whitespaceChunks(text)) {
      const tokens = this.tokenize(chunk);
      out.tokens.push(...tokens);
      out.offsets.push(...chunkOffsets(this.shape, chunk, start, tokens));
    }
    return out;
  }

  tokenToId(token: string): number | undefined {
    return this.engine.token_to_id(token);
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return ids.length === 0 ? '' : this.engine.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** Batch-encode texts (and optional pairs) into id rows the models take. */
  encode(texts: string[], options: EncodeOptions = {}): Encoding {
    const { textPairs, truncation = false } = options;
    const padding = options.padding === true ? 'longest' : options.padding ?? false;
    if (!Array.isArray(texts) || (textPairs !== undefined && !Array.isArray(textPairs))) {
      throw new DistilleryModelsError('INPUT_INVALID', `encode(): texts${Array.isArray(texts) ? 'Pairs' : ''} must be a list of strings (string[]), got ${texts === null ? 'null' : typeof (Array.isArray(texts) ? textPairs : texts)}; wrap one text as [text].`);
    }
    if (textPairs !== undefined && textPairs.length !== texts.length) {
      throw new DistilleryModelsError('INPUT_INVALID', `encode(): ${texts.length} texts but ${textPairs.length} textPairs; give one pair per text.`);
    }
    const maxLength = options.maxLength ?? this.modelMaxLength;
    if ((truncation || padding === 'max_length') && maxLength === undefined) {
      throw new DistilleryModelsError('INPUT_INVALID', `encode(): truncation / padding 'max_length' need maxLength, and ${joinPath(this.dir, 'tokenizer_config.json')} sets no model_max_length; pass maxLength.`);
    }
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength <= (textPairs ? this.specialsPair : this.specialsSingle))) {
      throw new DistilleryModelsError('INPUT_INVALID', `encode(): maxLength ${maxLength} leaves no room for text after the special tokens; use a larger integer.`);
    }

    const rows = texts.map((text, i) => {
      if (typeof text !== 'string' || (textPairs && typeof textPairs[i] !== 'string')) {
        throw new DistilleryModelsError('INPUT_INVALID', `encode(): row ${i} is not a string; pass texts (and textPairs) as string[].`);
      }
      let a = this.tokenize(text);
      let b = textPairs ? this.tokenize(textPairs[i]!) : null;
      if (truncation) [a, b] = truncateLongestFirst(a, b, maxLength! - (b ? this.specialsPair : this.specialsSingle));
      const { tokens, token_type_ids: types } = this.addSpecialTokens(a, b);
      return { ids: tokens.map((t) => this.idOf(t)), types: this.tokenTypes && types ? types : tokens.map(() => 0) };
    });

    const width = padding === 'max_length' ? maxLength! : Math.max(0, ...rows.map((r) => r.ids.length));
    if (padding !== false && this.padTokenId === undefined) {
      throw new DistilleryModelsError('TOKENIZER_INVALID', `${joinPath(this.dir, 'tokenizer_config.json')}: no pad_token (or it is not in the vocabulary), so rows cannot be padded; set pad_token or pass padding: false.`);
    }
    const out: Encoding = { inputIds: [], attentionMask: [], tokenTypeIds: [] };
    for (const { ids, types } of rows) {
      const fill = padding === false ? 0 : Math.max(0, width - ids.length);
      const pad = <T>(row: T[], value: T): T[] => {
        const extra = new Array<T>(fill).fill(value);
        return this.paddingSide === 'left' ? [...extra, ...row] : [...row, ...extra];
      };
      out.inputIds.push(pad(ids, this.padTokenId!));
      out.attentionMask.push(pad(ids.map(() => 1), 0));
      out.tokenTypeIds.push(pad(types, 0));
    }
    return out;
  }

  /**
   * Already-tokenized ids (e.g. one word at a time, as HF's `is_split_into_words`) with the
   * template's special tokens around them, as `encode` would place them.
   */
  buildInputs(a: readonly number[], b?: readonly number[]): BuiltInputs {
    // The template around two marker tokens tells where each segment goes and what type it gets.
    const [ma, mb] = ['\u0000a', '\u0000b'];
    const { tokens, token_type_ids: types } = this.addSpecialTokens([ma], b === undefined ? null : [mb]);
    const out: BuiltInputs = { inputIds: [], tokenTypeIds: [], sequenceIds: [] };
    tokens.forEach((token, i) => {
      const type = this.tokenTypes ? types?.[i] ?? 0 : 0;
      const segment = token === ma ? a : token === mb ? b! : undefined;
      if (segment === undefined) {
        out.inputIds.push(this.idOf(token));
        out.tokenTypeIds.push(type);
        out.sequenceIds.push(null);
        return;
      }
      for (const id of segment) {
        out.inputIds.push(id);
        out.tokenTypeIds.push(type);
        out.sequenceIds.push(token === ma ? 0 : 1);
      }
    });
    return out;
  }

  /** Special tokens one text / a pair gets (budget for `buildInputs`). */
  numSpecialTokens(pair = false): number {
    return pair ? this.specialsPair : this.specialsSingle;
  }

  private idOf(token: string): number {
    const id = this.engine.token_to_id(token);
    if (id === undefined) throw new DistilleryModelsError('TOKENIZER_INVALID', `${joinPath(this.dir, 'tokenizer.json')}: produced token ${JSON.stringify(token)} that is not in its vocabulary; the file is inconsistent, re-save it.`);
    return id;
  }

  /** The post-processor template ([CLS] A [SEP] / [CLS] A [SEP] B [SEP]) with its token types. */
  private addSpecialTokens(a: string[], b: string[] | null): { tokens: string[]; token_type_ids?: number[] } {
    const post = this.engine.post_processor;
    return post ? post(a, b, true) : { tokens: [...a, ...(b ?? [])] };
  }
}

/**
 * HF's `longest_first`: drop tokens from the end of the longer segment until both fit;
 * once equal, the pair loses the odd token (as `truncate_sequences` removes from it on ties).
 */
function truncateLongestFirst(a: string[], b: string[] | null, budget: number): [string[], string[] | null] {
  if (b === null) return [a.slice(0, budget), null];
  let excess = a.length + b.length - budget;
  if (excess <= 0) return [a, b];
  let na = a.length;
  let nb = b.length;
  const equalise = Math.min(excess, Math.abs(na - nb));
  if (na > nb) na -= equalise;
  else nb -= equalise;
  excess -= equalise;
  na -= Math.floor(excess / 2);
  nb -= Math.ceil(excess / 2);
  return [a.slice(0, na), b.slice(0, nb)];
}

/** Rectangular int32 tensors for `ModelInputs`; the caller owns (and disposes) them. */
export function encodingToTensors(encoding: Encoding): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D; tokenTypeIds: tf.Tensor2D } {
  const width = encoding.inputIds[0]?.length ?? 0;
  if (encoding.inputIds.length === 0 || encoding.inputIds.some((r) => r.length !== width)) {
    throw new DistilleryModelsError('INPUT_INVALID', 'encodingToTensors(): rows are empty or of different lengths; encode with padding: true (or \'max_length\').');
  }
  return {
    inputIds: tf.tensor2d(encoding.inputIds, [encoding.inputIds.length, width], 'int32'),
    attentionMask: tf.tensor2d(encoding.attentionMask, [encoding.inputIds.length, width], 'int32'),
    tokenTypeIds: tf.tensor2d(encoding.tokenTypeIds, [encoding.inputIds.length, width], 'int32'),
  };
}
