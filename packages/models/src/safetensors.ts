/**
 * Strict safetensors reader/writer (https://huggingface.co/docs/safetensors).
 * Layout: u64 LE header length N, N bytes of JSON header, then raw little-endian data;
 * offsets count from the end of the header. Every malformed file is a typed error.
 */
import { defaultFileStore, type FileStore } from '@distillery/storage';
import { DistilleryModelsError } from './errors.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** A header no real checkpoint reaches; guards against allocating what a corrupt length claims. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  /** dtype as stored in the file. */
  dtype: SafetensorsDtype;
  shape: number[];
  /** Values widened to float32 (F16/BF16/F64/ints converted), row-major. */
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

function fail(code: ConstructorParameters<typeof DistilleryModelsError>[0], file: string, msg: string): never {
  throw new DistilleryModelsError(code, `${file}: ${msg}`);
}

/** A weights file that could not be read, as the typed error naming it. */
export function weightsUnreadable(path: string, cause: unknown): DistilleryModelsError {
  return new DistilleryModelsError('WEIGHTS_MISSING', `${path}: cannot read weights file (${(cause as Error).message}). Check the path, or save the model with savePretrained().`, { cause });
}

/** Read and validate a safetensors file from `store` (the file system in Node, OPFS in a browser). */
export async function readWeights(path: string, store: FileStore = defaultFileStore()): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await store.readFile(path);
  } catch (cause) {
    throw weightsUnreadable(path, cause);
  }
  return parseSafetensors(bytes, path);
}

/** Parse safetensors bytes. `name` is used in error messages only. */
export function parseSafetensors(bytes: Uint8Array, name = '<buffer>'): SafetensorsFile {
  if (bytes.byteLength === 0) fail('SAFETENSORS_EMPTY', name, 'file is empty; re-export the checkpoint.');
  if (bytes.byteLength < 8) fail('SAFETENSORS_TRUNCATED', name, `file has ${bytes.byteLength} bytes, fewer than the 8-byte header length; the download or copy was cut short.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail('SAFETENSORS_HEADER_TOO_LARGE', name, `header claims ${n} bytes (limit ${MAX_HEADER_BYTES}); the file is corrupt or not safetensors.`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.byteLength) fail('SAFETENSORS_TRUNCATED', name, `header claims ${headerLen} bytes but the file has only ${bytes.byteLength - 8} after the length; the file is truncated.`);
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (cause) {
    throw new DistilleryModelsError('SAFETENSORS_HEADER_JSON', `${name}: header is not valid UTF-8 JSON (${(cause as Error).message}); the file is corrupt.`, { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('SAFETENSORS_HEADER_JSON', name, 'header must be a JSON object of tensor entries.');
  // JSON.parse keeps the last of duplicate keys silently; detect them from the raw text.
  const duplicate = firstDuplicateTopLevelKey(text);
  if (duplicate !== undefined) fail('SAFETENSORS_DUPLICATE_NAME', name, `key "${duplicate}" appears twice in the header; re-export the checkpoint.`);

  const dataStart = 8 + headerLen;
  const dataLen = bytes.byteLength - dataStart;
  // Own data properties only: a "__proto__" key must stay a key, not reach the prototype.
  const metadataEntries: Array<[string, string]> = [];
  const spans: Array<{ key: string; begin: number; end: number }> = [];
  const entries: Array<{ key: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }> = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('SAFETENSORS_BAD_ENTRY', name, '__metadata__ must be an object of strings.');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('SAFETENSORS_BAD_ENTRY', name, `__metadata__.${k} must be a string.`);
        metadataEntries.push([k, v]);
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('SAFETENSORS_BAD_ENTRY', name, `entry "${key}" must be an object {dtype, shape, data_offsets}.`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES_PER_ELEMENT, dtype)) fail('SAFETENSORS_UNKNOWN_DTYPE', name, `entry "${key}" has unknown dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(BYTES_PER_ELEMENT).join(', ')}.`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail('SAFETENSORS_BAD_ENTRY', name, `entry "${key}" has an invalid shape ${JSON.stringify(shape)}.`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) fail('SAFETENSORS_BAD_OFFSETS', name, `entry "${key}" has invalid data_offsets ${JSON.stringify(offsets)}.`);
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLen) fail('SAFETENSORS_BAD_OFFSETS', name, `entry "${key}" data_offsets [${begin}, ${end}] fall outside the ${dataLen}-byte data section.`);
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const width = BYTES_PER_ELEMENT[dtype as SafetensorsDtype];
    if (elements * width !== end - begin) fail('SAFETENSORS_SIZE_MISMATCH', name, `entry "${key}": shape [${(shape as number[]).join(', ')}] × ${dtype} needs ${elements * width} bytes but data_offsets span ${end - begin}.`);
    spans.push({ key, begin, end });
    entries.push({ key, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const s of spans) {
    if (s.begin !== cursor) {
      fail('SAFETENSORS_BAD_OFFSETS', name, s.begin < cursor ? `entry "${s.key}" overlaps the previous tensor (starts at ${s.begin}, previous ends at ${cursor}).` : `gap of ${s.begin - cursor} bytes before entry "${s.key}"; the data section must be covered exactly.`);
    }
    cursor = s.end;
  }
  if (cursor !== dataLen) fail('SAFETENSORS_BAD_OFFSETS', name, `tensors cover ${cursor} of ${dataLen} data bytes; the data section must be covered exactly.`);

  const tensors = new Map<string, TensorEntry>();
  for (const e of entries) {
    tensors.set(e.key, { dtype: e.dtype, shape: e.shape, data: decode(bytes, dataStart + e.begin, dataStart + e.end, e.dtype) });
  }
  return { tensors, metadata: Object.fromEntries(metadataEntries) };
}

/** Scan already-valid JSON for a repeated key of the top-level object. */
function firstDuplicateTopLevelKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}

function decode(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDtype): Float32Array {
  const n = (end - begin) / BYTES_PER_ELEMENT[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
    case 'BF16': {
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) { tmp.setUint32(0, view.getUint16(i * 2, true) << 16); out[i] = tmp.getFloat32(0); }
      break;
    }
    case 'I64': for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true)); break;
    case 'I32': for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true); break;
    case 'I16': for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true); break;
    case 'I8': for (let i = 0; i < n; i++) out[i] = view.getInt8(i); break;
    case 'U8': case 'BOOL': for (let i = 0; i < n; i++) out[i] = view.getUint8(i); break;
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array;
}

/**
 * Serialise float32 tensors as HF's `save_pretrained` does: sorted names, no gaps,
 * `{"format":"pt"}` metadata, header padded with spaces to a multiple of 8.
 */
export function serializeSafetensors(tensors: Map<string, TensorToWrite> | Record<string, TensorToWrite>, metadata: Record<string, string> = { format: 'pt' }): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const names = [...map.keys()].sort();
  // Entries, not assignment: a tensor named "__proto__" must become a key, not a prototype.
  const entries: Array<[string, unknown]> = [['__metadata__', metadata]];
  let offset = 0;
  for (const key of names) {
    const t = map.get(key)!;
    const bytes = t.data.length * 4;
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new DistilleryModelsError('SAFETENSORS_SIZE_MISMATCH', `cannot write "${key}": shape [${t.shape.join(', ')}] has ${expected} elements but data has ${t.data.length}.`);
    entries.push([key, { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] }]);
    offset += bytes;
  }
  let json = JSON.stringify(Object.fromEntries(entries));
  json += ' '.repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const key of names) {
    const t = map.get(key)!;
    const dv = new DataView(out.buffer, cursor, t.data.length * 4);
    for (let i = 0; i < t.data.length; i++) dv.setFloat32(i * 4, t.data[i]!, true);
    cursor += t.data.length * 4;
  }
  return out;
}
