/**
 * Texts → token ids through whatever tokenizer the caller supplies (the demo passes the
 * models package's AutoTokenizer), checked so a misbehaving tokenizer fails here, by name,
 * rather than as a shape error deep inside tfjs.
 */
import { DistilleryDemoError } from './errors.js';

export interface Encoding {
  inputIds: number[][]; // N rows of S_i ids (ragged: the trainer's collator pads per batch)
  attentionMask: number[][]; // N rows of S_i, 1 = token, 0 = pad
}

/** One row per text; rows may differ in length (truncate, no need to pad). */
export type Tokenize = (texts: string[]) => Encoding | Promise<Encoding>;

export interface EncodedSplit extends Encoding {
  labels: number[]; // [N]
}

export interface EncodeOptions {
  /** Texts per tokenizer call (default 256): bounds memory and paces progress reports. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

function check(enc: Encoding, count: number): void {
  const fail = (what: string) => {
    throw new DistilleryDemoError(
      'TOKENIZER_INVALID',
      `tokenize(): ${what}; it must return inputIds and attentionMask with one non-empty row per text, each mask row as long as its ids row`,
    );
  };
  if (enc.inputIds.length !== count || enc.attentionMask.length !== count) {
    fail(`got ${enc.inputIds.length} inputIds rows and ${enc.attentionMask.length} attentionMask rows for ${count} texts`);
  }
  enc.inputIds.forEach((ids, i) => {
    const mask = enc.attentionMask[i] ?? [];
    if (ids.length === 0 || mask.length !== ids.length) fail(`row ${i} has ${ids.length} ids and ${mask.length} mask entries`);
    if (!ids.every(Number.isInteger)) fail(`row ${i} has non-integer ids`);
  });
}

/** Tokenizes `texts` in batches, checking every batch. */
export async function encodeTexts(texts: readonly string[], tokenize: Tokenize, options: EncodeOptions = {}): Promise<Encoding> {
  const { batchSize = 256, onProgress } = options;
  const out: Encoding = { inputIds: [], attentionMask: [] };
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const enc = await tokenize(batch);
    check(enc, batch.length);
    out.inputIds.push(...enc.inputIds);
    out.attentionMask.push(...enc.attentionMask);
    onProgress?.(start + batch.length, texts.length);
  }
  return out;
}

export async function encodeSplit(
  split: { texts: readonly string[]; labels: readonly number[] },
  tokenize: Tokenize,
  options: EncodeOptions = {},
): Promise<EncodedSplit> {
  if (split.texts.length !== split.labels.length) {
    throw new DistilleryDemoError('DATA_INVALID', `split has ${split.texts.length} texts but ${split.labels.length} labels`);
  }
  return { ...(await encodeTexts(split.texts, tokenize, options)), labels: split.labels.slice() };
}

/** The trainer's dataset rows: `{ inputIds, attentionMask, label }`, one per example. */
export function toExamples(split: EncodedSplit): { inputIds: number[]; attentionMask: number[]; label: number }[] {
  return split.labels.map((label, i) => ({ inputIds: split.inputIds[i] ?? [], attentionMask: split.attentionMask[i] ?? [], label }));
}
