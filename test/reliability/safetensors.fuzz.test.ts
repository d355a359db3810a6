/**
 * Property-based fuzzing of the safetensors reader: random, structurally random and mutated
 * files only ever raise DistilleryModelsError, a header is never read past what the file holds,
 * and valid files (any dtype) decode exactly and round-trip byte-for-byte.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DistilleryModelsError, MAX_HEADER_BYTES, parseSafetensors, serializeSafetensors } from '@distillery/models';
import type { SafetensorsDtype, SafetensorsFile } from '@distillery/models';
import { safetensorsBytes } from '../bad-inputs/safetensors-bytes.js';

const RUNS = 10_000;
const NAME = 'fuzz.safetensors';
const DTYPES: SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
const WIDTH: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Parse; a success must respect the file's bounds, a failure must be our typed error naming the file. */
function parseChecked(bytes: Uint8Array): SafetensorsFile | DistilleryModelsError {
  let file: SafetensorsFile;
  try {
    file = parseSafetensors(bytes, NAME);
  } catch (e) {
    if (!(e instanceof DistilleryModelsError)) throw e;
    expect(e.message.startsWith(`${NAME}: `)).toBe(true);
    return e;
  }
  // Decoded tensors hold at most one float per data byte: nothing beyond what the file carries.
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  let elements = 0;
  for (const t of file.tensors.values()) {
    expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
    elements += t.data.length;
  }
  expect(elements).toBeLessThanOrEqual(bytes.length - 8 - headerLen);
  return file;
}

const tensorName = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'bert.pooler.dense.weight', 'a"b\\c'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }))
  .filter((n) => n !== '__metadata__');
const shape = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
const f32Tensor = shape.chain((s) => {
  const n = s.reduce((a, b) => a * b, 1);
  return fc.float32Array({ minLength: n, maxLength: n }).map((data) => ({ shape: s, data }));
});
/** Valid files from the real writer: unique names, F32 incl. NaN / ±0 / ±Inf, free-form metadata. */
const validFile = fc.record({
  tensors: fc.uniqueArray(fc.tuple(tensorName, f32Tensor), { maxLength: 5, selector: ([name]) => name }),
  metadata: fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: 'grapheme', maxLength: 8 }), { maxKeys: 3 }),
}).map(({ tensors, metadata }) => serializeSafetensors(new Map(tensors), metadata));

describe('safetensors reader under fuzzing', () => {
  it('random bytes, with and without a plausible header length', () => {
    const withPrefix = fc.tuple(fc.bigInt({ min: 0n, max: 300n }), fc.uint8Array({ maxLength: 256 }))
      .map(([n, rest]) => safetensorsBytes(rest, new Uint8Array(0), n));
    fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), withPrefix), (bytes) => { parseChecked(bytes); }), { numRuns: RUNS });
  });

  it('any header length beyond the file (up to u64 max) is refused before the header is read', () => {
    fc.assert(fc.property(validFile, fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (bytes, claim) => {
      const file = bytes.slice();
      new DataView(file.buffer).setBigUint64(0, claim, true);
      const out = parseChecked(file);
      if (claim > BigInt(MAX_HEADER_BYTES)) expect(out).toMatchObject({ code: 'SAFETENSORS_HEADER_TOO_LARGE' });
      else if (claim > BigInt(file.length - 8)) expect(out).toMatchObject({ code: 'SAFETENSORS_TRUNCATED' });
    }), { numRuns: RUNS });
  });

  it('mutated valid files: bit flips, byte writes, truncation, insertion', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    let parsed = 0;
    fc.assert(fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 4 }), (original, mutations) => {
      let bytes = original.slice();
      for (const m of mutations) {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length;
        if (m.kind === 'flip') bytes[at] = bytes[at]! ^ (1 << m.bit);
        else if (m.kind === 'set') bytes[at] = m.byte;
        else if (m.kind === 'truncate') bytes = bytes.slice(0, at);
        else bytes = Uint8Array.from([...bytes.subarray(0, at), ...m.bytes, ...bytes.subarray(at)]);
      }
      if (!(parseChecked(bytes) instanceof DistilleryModelsError)) parsed++;
    }), { numRuns: RUNS });
    // Both sides were reached: mutations inside tensor data keep a file valid.
    expect(parsed).toBeGreaterThan(0);
    expect(parsed).toBeLessThan(RUNS);
  });

  it('structurally random headers: junk dtypes, shapes, offsets, metadata, duplicate keys', () => {
    const junk = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.string({ maxLength: 4 }), fc.constant([]), fc.constant({}));
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom(...DTYPES, 'constructor', '__proto__', 'F8_E4M3', 'f32'), junk),
      shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constantFrom(0.5, 2 ** 53, 1e308, -0)), { maxLength: 3 }), junk),
      data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -4, max: 72 }), fc.integer({ min: -4, max: 72 })), fc.array(fc.integer({ min: 0, max: 72 }), { maxLength: 3 }), junk),
    }, { requiredKeys: [] });
    const header = fc.tuple(
      fc.uniqueArray(fc.tuple(tensorName, fc.oneof({ weight: 4, arbitrary: entry }, { weight: 1, arbitrary: junk })), { maxLength: 4, selector: ([n]) => n }),
      fc.option(fc.oneof(fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 }), junk)),
      fc.boolean(),
      fc.boolean(),
    ).map(([generated, metadata, duplicate, tile]) => {
      // Copies: fast-check reuses generated values while shrinking.
      const entries = generated.map(([k, v]): [string, unknown] => [k, v !== null && typeof v === 'object' && !Array.isArray(v) ? { ...v } : v]);
      // Half the time, lay offsets out back to back for every entry that could be valid, so parses also succeed.
      let dataLength: number | undefined;
      if (tile) {
        dataLength = 0;
        for (const [, v] of entries) {
          const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
          if (e === null || typeof e !== 'object' || !DTYPES.includes(e.dtype as SafetensorsDtype) || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) continue;
          const size = WIDTH[e.dtype as SafetensorsDtype] * (e.shape as number[]).reduce((a, b) => a * b, 1);
          if (size > 4096) continue;
          e.data_offsets = [dataLength, dataLength + size];
          dataLength += size;
        }
      }
      const body = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
      if (metadata !== null) body.push(`"__metadata__":${JSON.stringify(metadata)}`);
      const repeated = duplicate && body.length > 0;
      if (repeated) body.push(body[0]!);
      return { text: `{${body.join(',')}}`, repeated, dataLength };
    });
    let parsed = 0;
    fc.assert(fc.property(header, fc.uint8Array({ maxLength: 72 }), ({ text, repeated, dataLength }, random) => {
      const data = dataLength === undefined ? random : Uint8Array.from({ length: dataLength }, (_, i) => random[i % random.length] ?? 0);
      const out = parseChecked(safetensorsBytes(text, data));
      if (repeated) expect(out).toMatchObject({ code: 'SAFETENSORS_DUPLICATE_NAME' });
      if (!(out instanceof DistilleryModelsError)) {
        // Whatever parsed tiles the data section exactly.
        expect([...out.tensors.values()].reduce((a, t) => a + t.data.length * WIDTH[t.dtype], 0)).toBe(data.length);
        if (out.tensors.size > 0) parsed++;
      }
    }), { numRuns: RUNS });
    expect(parsed).toBeGreaterThan(0);
  });

  it('valid F32 files round-trip exactly: serialize → parse → serialize is byte-identical', () => {
    fc.assert(fc.property(validFile, (bytes) => {
      const file = parseChecked(bytes);
      expect(file).not.toBeInstanceOf(DistilleryModelsError);
      const { tensors, metadata } = file as SafetensorsFile;
      const again = serializeSafetensors(new Map([...tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }])), metadata);
      expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    }), { numRuns: RUNS });
  });

  it('valid files of every dtype, in any data order, decode to the stored values', () => {
    const spec = fc.uniqueArray(fc.record({ name: tensorName, dtype: fc.constantFrom(...DTYPES), shape }), { maxLength: 5, selector: (t) => t.name })
      .chain((tensors) => fc.tuple(
        fc.constant(tensors),
        fc.tuple(...tensors.map((t) => fc.uint8Array({ minLength: WIDTH[t.dtype] * t.shape.reduce((a, b) => a * b, 1), maxLength: WIDTH[t.dtype] * t.shape.reduce((a, b) => a * b, 1) }))),
        fc.shuffledSubarray(tensors.map((_, i) => i), { minLength: tensors.length, maxLength: tensors.length }),
      ));
    fc.assert(fc.property(spec, ([tensors, raws, order]) => {
      const header: Array<[string, unknown]> = [];
      const chunks: Uint8Array[] = [];
      let offset = 0;
      for (const i of order) {
        const t = tensors[i]!;
        header.push([t.name, { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + raws[i]!.length] }]);
        chunks.push(raws[i]!);
        offset += raws[i]!.length;
      }
      const file = parseChecked(safetensorsBytes(Object.fromEntries(header), Uint8Array.from(chunks.flatMap((c) => [...c]))));
      expect(file).not.toBeInstanceOf(DistilleryModelsError);
      tensors.forEach((t, i) => {
        const got = (file as SafetensorsFile).tensors.get(t.name)!;
        expect(got.dtype).toBe(t.dtype);
        expect(got.shape).toEqual(t.shape);
        // Object.is: -0 ≠ 0 and NaN = NaN (NaN payloads may be canonicalised).
        const want = reference(t.dtype, raws[i]!);
        expect(got.data.every((v, j) => Object.is(v, want[j]))).toBe(true);
      });
    }), { numRuns: RUNS });
  });
});

/** Independent decode through typed arrays and bit assembly (the reader uses DataView arithmetic). */
function reference(dtype: SafetensorsDtype, raw: Uint8Array): Float32Array {
  const buf = raw.slice().buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(buf);
    case 'F64': return Float32Array.from(new Float64Array(buf));
    case 'I64': return Float32Array.from(new BigInt64Array(buf), (v) => Number(v));
    case 'I32': return Float32Array.from(new Int32Array(buf));
    case 'I16': return Float32Array.from(new Int16Array(buf));
    case 'I8': return Float32Array.from(new Int8Array(buf));
    case 'U8': case 'BOOL': return Float32Array.from(new Uint8Array(buf));
    case 'BF16': return new Float32Array(Uint32Array.from(new Uint16Array(buf), (h) => h << 16).buffer);
    case 'F16': return new Float32Array(Uint32Array.from(new Uint16Array(buf), halfBitsToFloatBits).buffer);
  }
}

/** IEEE half → single by re-biasing the exponent (subnormals normalised, Inf/NaN widened). */
function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  let exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    exp = 1;
    while ((mant & 0x400) === 0) { mant <<= 1; exp--; }
    mant &= 0x3ff;
  }
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}
