/**
 * Writes the generated part of the bad-input corpus (safetensors files, tokenizer folders).
 * manifest.json, not this script, says which error each case must raise.
 *   npx tsx --conditions=distillery-source test/bad-inputs/generate.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeWordPieceTokenizer } from '@distillery/models';
import { f32Bytes, safetensorsBytes } from './safetensors-bytes.js';

const META = { __metadata__: { format: 'pt' } };
/** A valid two-tensor header: a [2, 3] at bytes 0..24, b [4] at 24..40. */
const GOOD = { ...META, a: { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: 'F32', shape: [4], data_offsets: [24, 40] } };
const good = safetensorsBytes(GOOD, f32Bytes(10));

/** Case file name → bytes. One defect per file; everything else valid. */
export function safetensorsCases(): Map<string, Uint8Array> {
  const entry = (over: object) => ({ ...GOOD, b: { ...GOOD.b, ...over } });
  return new Map<string, Uint8Array>([
    ['empty.safetensors', new Uint8Array(0)],
    ['shorter-than-length-prefix.safetensors', good.subarray(0, 5)],
    ['truncated-header.safetensors', good.subarray(0, 8 + 20)],
    ['header-length-beyond-file.safetensors', safetensorsBytes(GOOD, f32Bytes(10), 1n << 20n)],
    ['header-claims-2gib.safetensors', safetensorsBytes(GOOD, f32Bytes(10), 1n << 31n)],
    ['header-claims-u64-max.safetensors', safetensorsBytes(GOOD, f32Bytes(10), (1n << 64n) - 1n)],
    ['header-invalid-json.safetensors', safetensorsBytes(JSON.stringify(GOOD).slice(0, -1), f32Bytes(10))],
    // 0xff never occurs in UTF-8.
    ['header-not-utf8.safetensors', safetensorsBytes(Uint8Array.from([...new TextEncoder().encode('{"__metadata__":{"format":"p'), 0xff, ...new TextEncoder().encode('"}}')]))],
    ['header-is-array.safetensors', safetensorsBytes([GOOD], f32Bytes(10))],
    ['offsets-overlapping.safetensors', safetensorsBytes(entry({ data_offsets: [20, 36] }), f32Bytes(10).subarray(0, 36))],
    ['offsets-out-of-range.safetensors', safetensorsBytes(entry({ data_offsets: [24, 40] }), f32Bytes(9))],
    ['offsets-gap.safetensors', safetensorsBytes(entry({ data_offsets: [28, 44] }), f32Bytes(11))],
    ['offsets-trailing-bytes.safetensors', safetensorsBytes(GOOD, f32Bytes(12))],
    ['offsets-reversed.safetensors', safetensorsBytes(entry({ data_offsets: [40, 24] }), f32Bytes(10))],
    ['offsets-not-integers.safetensors', safetensorsBytes(entry({ data_offsets: [24.5, 40] }), f32Bytes(10))],
    ['unknown-dtype.safetensors', safetensorsBytes(entry({ dtype: 'F8_E4M3' }), f32Bytes(10))],
    ['dtype-prototype-name.safetensors', safetensorsBytes(entry({ dtype: 'constructor' }), f32Bytes(10))],
    ['shape-dtype-size-mismatch.safetensors', safetensorsBytes(entry({ shape: [5] }), f32Bytes(10))],
    ['shape-negative.safetensors', safetensorsBytes(entry({ shape: [-4] }), f32Bytes(10))],
    ['entry-not-object.safetensors', safetensorsBytes({ ...GOOD, b: [24, 40] }, f32Bytes(10))],
    ['metadata-not-strings.safetensors', safetensorsBytes({ ...GOOD, __metadata__: { format: 1 } }, f32Bytes(10))],
    // JSON.stringify cannot repeat a key; splice the duplicate into the text.
    ['duplicate-names.safetensors', safetensorsBytes(JSON.stringify(GOOD).replace('"b":', '"a":'), f32Bytes(10))],
  ]);
}

/** Writes the tokenizer folders and vocab files under `root`/tokenizer. */
export function writeTokenizerCases(root: string): void {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '##s'];
  // Only the two files AutoTokenizer reads, minus the one a case leaves out.
  const folder = (name: string, drop?: string) => {
    const dir = writeWordPieceTokenizer(vocab, join(root, name));
    for (const extra of [drop, 'vocab.txt', 'special_tokens_map.json']) if (extra) rmSync(join(dir, extra));
  };
  folder('tokenizer/missing-tokenizer-json', 'tokenizer.json');
  folder('tokenizer/missing-tokenizer-config', 'tokenizer_config.json');
  folder('tokenizer/tokenizer-json-not-json');
  writeFileSync(join(root, 'tokenizer/tokenizer-json-not-json/tokenizer.json'), '{"version": "1.0", "model": ');
  folder('tokenizer/tokenizer-json-not-a-tokenizer');
  writeFileSync(join(root, 'tokenizer/tokenizer-json-not-a-tokenizer/tokenizer.json'), '{"version": "1.0"}');
  for (const missing of ['[CLS]', '[SEP]', '[PAD]']) {
    const path = join(root, `tokenizer/vocab-without-${missing.slice(1, -1).toLowerCase()}.txt`);
    writeFileSync(path, vocab.filter((t) => t !== missing).join('\n') + '\n');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = dirname(fileURLToPath(import.meta.url));
  mkdirSync(join(root, 'safetensors'), { recursive: true });
  for (const [name, bytes] of safetensorsCases()) writeFileSync(join(root, 'safetensors', name), bytes);
  rmSync(join(root, 'tokenizer'), { recursive: true, force: true });
  mkdirSync(join(root, 'tokenizer'), { recursive: true });
  writeTokenizerCases(root);
}
