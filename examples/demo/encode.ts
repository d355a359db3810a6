/**
 * Texts → token ids through whatever tokenizer the caller supplies (the demo passes the
 * models package's AutoTokenizer), checked so a misbehaving tokenizer fails here, by name,
 * rather than as a shape error deep inside tfjs.
 */
import { DistilleryDemoError } from './errors.js';

export interface Encoding {
  inputIds: number[][]; // [N, S]
  attentionMask: number[][]; // [N, S], 1 = token, 0 = pad
}

/** Must pad/truncate to one fixed length S so rows stack into [B, S] tensors. */
export type Tokenize = (texts: string[]) => Encoding | Promise<Encoding>;

export interface EncodedSplit extends Encoding {
  labels: number[]; // [N]
}

export interface EncodeOptions {
  /** Texts per tokenizer call (default 256): bounds memory and paces progress reports. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

function check(enc: Encoding, count: number, seqLen: number | undefined): number {
  const fail = (what: string) => {
    throw new DistilleryDemoError(
      'TOKENIZER_INVALID',
      `tokenize(): ${what}; it must return inputIds and attentionMask with one row per text, all padded/truncated to the same length`,
    );
  };
  if (enc.inputIds.length !== count || enc.attentionMask.length !== count) {
    fail(`got ${enc.inputIds.length} inputIds rows and ${enc.attentionMask.length} attentionMask rows for ${count} texts`);
  }
  const length = seqLen ?? enc.inputIds[0]?.length ?? 0;
  if (length === 0) fail('rows are empty');
  enc.inputIds.forEach((ids, i) => {
    const mask = enc.attentionMask[i] ?? [];
    if (ids.length !== length || mask.length !== length) fail(`row ${i} has ${ids.length} ids and ${mask.length} mask entries, expected ${length}`);
    if (!ids.every(Number.isInteger)) fail(`row ${i} has non-integer ids`);
  });
  return length;
}

/** Tokenizes `texts` in batches; every row comes back with the same sequence length. */
export async function encodeTexts(texts: readonly string[], tokenize: Tokenize, options: EncodeOptions = {}): Promise<Encoding> {
  const { batchSize = 256, onProgress } = options;
  const out: Encoding = { inputIds: [], attentionMask: [] };
  let seqLen: number | undefined;
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize);
    const enc = await tokenize(batch);
    seqLen = check(enc, batch.length, seqLen);
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
