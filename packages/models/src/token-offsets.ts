/**
 * What HF's fast tokenizers know about where tokens come from, rebuilt for the pure-JS engine
 * (which returns token strings only): the character span of each token (`return_offsets_mapping`)
 * and how a pre-split word is tokenized (`is_split_into_words`). Both depend on the kind of
 * tokenizer: byte-level BPE (RoBERTa, GPT-2) spells bytes through GPT-2's printable alphabet and
 * carries a word's leading space inside its token (`Ġworld`); WordPiece (BERT) drops spaces and
 * marks continuations `##`; Metaspace (ALBERT, SentencePiece) turns spaces into `▁`.
 */

/** GPT-2's `bytes_to_unicode`: byte b → the printable character byte-level BPE writes for it. */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let shifted = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + shifted++));
}

const BYTE_OF = new Map(bytesToUnicode().map((c, b) => [c, b]));
const UTF8 = new TextEncoder();

/** The parts of tokenizer.json that decide token surfaces and offsets. */
export interface TokenizerShape {
  /** Byte-level pre-tokenizer (RoBERTa, GPT-2): words carry their leading space as `Ġ`. */
  byteLevel: boolean;
  /** The post-processor trims whitespace out of offsets (`trim_offsets`, RoBERTa's default). */
  trimOffsets: boolean;
  /** WordPiece's continuation marker (`##`), '' when the model has none. */
  subwordPrefix: string;
  /** Metaspace's space character (`▁`), undefined without a Metaspace pre-tokenizer. */
  metaspace: string | undefined;
}

type Json = Record<string, unknown>;

/** A component and, for `Sequence`, its members (`pretokenizers` / `processors`). */
function parts(component: unknown, key: string): Json[] {
  if (component === null || typeof component !== 'object') return [];
  const c = component as Json;
  return c.type === 'Sequence' && Array.isArray(c[key]) ? (c[key] as Json[]) : [c];
}

export function tokenizerShape(tokenizerJson: Json): TokenizerShape {
  const pre = parts(tokenizerJson.pre_tokenizer, 'pretokenizers');
  const post = parts(tokenizerJson.post_processor, 'processors');
  const model = (tokenizerJson.model ?? {}) as Json;
  const metaspace = pre.find((p) => p.type === 'Metaspace');
  return {
    byteLevel: pre.some((p) => p.type === 'ByteLevel'),
    trimOffsets: post.some((p) => (p.type === 'ByteLevel' || p.type === 'RobertaProcessing') && p.trim_offsets === true),
    subwordPrefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '',
    metaspace: metaspace === undefined ? undefined : typeof metaspace.replacement === 'string' ? metaspace.replacement : '\u2581',
  };
}

/**
 * Words of a text, each with the whitespace before it (and trailing whitespace alone). No
 * tokenizer joins a word to the whitespace after it (WordPiece drops whitespace; byte-level BPE
 * and Metaspace attach it to the next word), so a text tokenizes as its chunks do one by one.
 */
export function whitespaceChunks(text: string): Array<{ chunk: string; start: number }> {
  return [...text.matchAll(/\s*\S+|\s+$/gu)].map((m) => ({ chunk: m[0], start: m.index }));
}

/** Case- and accent-blind form, one code unit per code unit where it can be (as BERT's uncased normalizer reads). */
function fold(s: string): string {
  return [...s].map((c) => c.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase()).join('');
}

/**
 * `[start, end)` code units in the text of each token of `chunk` (which starts at `at`). Spans
 * are exact when the tokens spell the chunk out (byte for byte for byte-level BPE; up to case
 * and accents otherwise); else every token gets the word's whole span, as the best bound left.
 */
export function chunkOffsets(shape: TokenizerShape, chunk: string, at: number, tokens: readonly string[]): Array<[number, number]> {
  const spans = shape.byteLevel ? byteSpans(shape, chunk, tokens) : unitSpans(shape, chunk, tokens);
  if (spans !== undefined) return spans.map(([s, e]) => [at + s, at + e]);
  const lead = chunk.length - chunk.trimStart().length;
  return tokens.map(() => [at + lead, at + chunk.length]);
}

/**
 * The span of a token `width` long at `at`, less the whitespace at its ends (`lead` / `trail`) when the
 * tokenizer trims offsets; a token of whitespace alone shrinks to its end, as HF's does.
 */
function trim(shape: TokenizerShape, at: number, width: number, lead: number, trail: number): [number, number] {
  // A space the tokenizer prepended (at -1) has no character to trim.
  const [start, end] = [Math.max(at, 0), at + width];
  if (!shape.trimOffsets) return [start, end];
  const a = Math.min(Math.max(at + lead, start), end);
  return [a, Math.max(end - trail, a)];
}

function unitSpans(shape: TokenizerShape, chunk: string, tokens: readonly string[]): Array<[number, number]> | undefined {
  const texts = tokens.map((t) => {
    const bare = shape.subwordPrefix !== '' && t.length > shape.subwordPrefix.length && t.startsWith(shape.subwordPrefix) ? t.slice(shape.subwordPrefix.length) : t;
    return shape.metaspace === undefined ? bare : bare.replaceAll(shape.metaspace, ' ');
  });
  const joined = texts.join('');
  // Right-aligned: a space the tokenizer prepends (Metaspace, add_prefix_space) has no character in the text.
  const from = chunk.length - joined.length;
  if (from < -1 || fold(joined.slice(from < 0 ? 1 : 0)) !== fold(chunk.slice(Math.max(from, 0)))) return undefined;
  let at = from;
  return texts.map((t) => {
    const span = trim(shape, at, t.length, t.length - t.trimStart().length, t.length - t.trimEnd().length);
    at += t.length;
    return span;
  });
}

function byteSpans(shape: TokenizerShape, chunk: string, tokens: readonly string[]): Array<[number, number]> | undefined {
  const pieces = tokens.map((t) => [...t].map((c) => BYTE_OF.get(c)));
  if (pieces.some((p) => p.some((b) => b === undefined))) return undefined;
  // TextEncoder, not Buffer: the tokenizer also runs in browsers.
  const bytes = UTF8.encode(chunk);
  const joined = pieces.flat() as number[];
  const from = bytes.length - joined.length;
  if (from < -1 || joined.slice(from < 0 ? 1 : 0).some((b, i) => b !== bytes[Math.max(from, 0) + i])) return undefined;
  // Code-unit start and end of the character each byte belongs to: a token holding part of a
  // character (an emoji split across tokens) spans the whole character, as HF's offsets do.
  const charStart: number[] = [];
  const charEnd: number[] = [];
  let unit = 0;
  for (const ch of chunk) {
    for (let k = 0; k < UTF8.encode(ch).length; k++) {
      charStart.push(unit);
      charEnd.push(unit + ch.length);
    }
    unit += ch.length;
  }
  const unitAt = (byte: number) => (byte >= bytes.length ? chunk.length : charStart[byte]!);
  // HF trims the space byte (`Ġ`) only: a newline or tab token keeps its character.
  const isSpace = (b: number | undefined) => b === 0x20;
  let at = from;
  return (pieces as number[][]).map((p) => {
    let lead = 0;
    while (lead < p.length && isSpace(p[lead])) lead++;
    let trail = 0;
    while (trail < p.length - lead && isSpace(p[p.length - 1 - trail])) trail++;
    const [a, b] = trim(shape, at, p.length, lead, trail);
    at += p.length;
    return b <= a ? [unitAt(a), unitAt(a)] : [unitAt(a), charEnd[b - 1]!];
  });
}
