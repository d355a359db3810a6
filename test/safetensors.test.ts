import { describe, expect, it } from 'vitest';
import { readSafetensors, parseSafetensors, serializeSafetensors, DistilleryModelsError } from '@distillery/models';
import { readFileSync } from 'node:fs';

const FIX = new URL('./fixtures/parity/', import.meta.url).pathname;

describe('safetensors', () => {
  it('reads an HF checkpoint and writes it back byte-identically', () => {
    const path = `${FIX}bert_seqcls/model.safetensors`;
    const file = readSafetensors(path);
    expect(file.tensors.get('bert.embeddings.word_embeddings.weight')?.shape).toEqual([99, 32]);
    const again = serializeSafetensors(new Map([...file.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }])), file.metadata);
    expect(Buffer.from(again).equals(readFileSync(path))).toBe(true);
  });

  it('rejects truncated files with a typed error', () => {
    const bytes = readFileSync(`${FIX}bert_seqcls/model.safetensors`);
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 4), 'x.safetensors')).toThrow(DistilleryModelsError);
    try { parseSafetensors(bytes.subarray(0, 100), 'x.safetensors'); } catch (e) { expect((e as DistilleryModelsError).code).toBe('SAFETENSORS_TRUNCATED'); }
  });
});
