/**
 * `CachedTeacher` reads rows on demand: after open only the index is in memory (no .bin byte
 * read), a batch reads exactly its rows' requested pieces, and what it serves equals the live
 * teacher's outputs at every real position, in another batch order and padding than the cache was
 * written with. A .bin damaged after open (truncated, or garbage bytes) is one CACHE_INVALID naming
 * the file at the first read that reaches it.
 */
import { copyFileSync, mkdirSync, openSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AutoModelForSequenceClassification, parseConfig } from '@distillery/models';
import { CachedTeacher, DistilleryPluginsError, computeTeacherShard, probeShape, shardFileBase, shardRange, type DistillBatch } from '@distillery/plugins';
import { Rng, initBackend } from '@distillery/trainer';
import { tempDir } from '../helpers/tmp.js';

const ROWS = 24;
const rng = new Rng(3);
/** Rows of 4..12 real tokens over a 30-token vocabulary. */
const rows = Array.from({ length: ROWS }, () => [2, ...Array.from({ length: 2 + rng.int(9) }, () => 5 + rng.int(25)), 3]);

function batchOf(ids: number[][]): DistillBatch {
  const s = Math.max(...ids.map((r) => r.length));
  return {
    inputIds: tf.tensor2d(ids.map((r) => [...r, ...Array<number>(s - r.length).fill(0)]), [ids.length, s], 'int32'),
    attentionMask: tf.tensor2d(ids.map((r) => r.map(() => 1).concat(Array<number>(s - r.length).fill(0))), [ids.length, s], 'int32'),
  };
}

const teacher = (): ReturnType<typeof AutoModelForSequenceClassification.fromConfig> => AutoModelForSequenceClassification.fromConfig(parseConfig({
  model_type: 'bert', vocab_size: 30, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 32, num_labels: 3,
}), 5);

/** A 2-shard cache of logits, hidden states and attentions, written in batches of 5. */
async function writeCache(dir: string): Promise<void> {
  const model = teacher();
  mkdirSync(dir);
  for (const index of [0, 1]) {
    const shard = { index, count: 2 };
    const { start, end } = shardRange(ROWS, shard);
    const batches = Array.from({ length: Math.ceil((end - start) / 5) }, (_, i) => batchOf(rows.slice(start + 5 * i, Math.min(start + 5 * i + 5, end))));
    const { manifest, data } = await computeTeacherShard(model, batches, { rows: ROWS, modelShape: probeShape(model) }, { shard, hiddenStates: true, attentions: true });
    tf.dispose(batches as unknown as tf.TensorContainer);
    writeFileSync(join(dir, `${shardFileBase(shard)}.bin`), new Uint8Array(data.buffer));
    writeFileSync(join(dir, `${shardFileBase(shard)}.json`), JSON.stringify(manifest));
  }
  model.dispose();
}

/** Floats a row of `len` tokens holds for each piece: 3 logits, 3 hidden states of 16, 2 layers × 2 heads of len². */
const pieces = (len: number): { logits: number; hidden: number; attentions: number } => ({ logits: 3, hidden: 3 * len * 16, attentions: 2 * 2 * len * len });

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  dir = join(tempDir('distillery-shards-'), 'cache');
  await writeCache(dir);
});

/** A copy of the cache (to damage). */
function copyCache(): string {
  const copy = join(tempDir('distillery-shards-'), 'cache');
  mkdirSync(copy);
  for (const name of readdirSync(dir)) copyFileSync(join(dir, name), join(copy, name));
  return copy;
}

function caught(f: () => unknown): DistilleryPluginsError {
  try {
    f();
  } catch (e) {
    return e as DistilleryPluginsError;
  }
  throw new Error('expected a throw');
}

describe('CachedTeacher reads rows on demand', () => {
  it('holds only the index after open, reads exactly the requested pieces of a batch, and serves the live teacher\'s outputs', async () => {
    const binBytes = readdirSync(dir).filter((n) => n.endsWith('.bin')).reduce((n, name) => n + statSync(join(dir, name)).size, 0);
    const cached = await CachedTeacher.open(dir);
    expect(cached.bytesRead).toBe(0);

    // Rows from both shards, in another order and padding than they were cached with.
    const picked = [17, 2, 9, 23, 0, 12];
    const ids = picked.map((i) => rows[i]!);
    const lens = ids.map((r) => r.length);
    const model = teacher();
    tf.tidy(() => {
      const logitsOnly = cached.forward(batchOf(ids), { training: false });
      expect(cached.bytesRead).toBe(lens.reduce((n, l) => n + 4 * pieces(l).logits, 0));
      const before = cached.bytesRead;
      const served = cached.forward(batchOf(ids), { training: false, outputHiddenStates: true, outputAttentions: true });
      expect(cached.bytesRead - before).toBe(lens.reduce((n, l) => n + 4 * (pieces(l).logits + pieces(l).hidden + pieces(l).attentions), 0));
      // A batch reads its own rows only: a small part of the cache.
      expect(cached.bytesRead).toBeLessThan(binBytes / 2);

      const live = model.forward(batchOf(ids), { training: false, outputHiddenStates: true, outputAttentions: true });
      const close = (a: tf.Tensor, b: tf.Tensor, what: string): void => {
        expect(tf.max(tf.abs(tf.sub(a, b))).arraySync() as number, what).toBeLessThan(1e-5);
      };
      close(logitsOnly.logits, live.logits, 'logits (logits only)');
      close(served.logits, live.logits, 'logits');
      ids.forEach((r, row) => {
        const len = r.length;
        live.hiddenStates!.forEach((h, l) => close(served.hiddenStates![l]!.slice([row, 0, 0], [1, len, -1]), h.slice([row, 0, 0], [1, len, -1]), `row ${row} hidden ${l}`));
        live.attentions!.forEach((a, l) => close(served.attentions![l]!.slice([row, 0, 0, 0], [1, -1, len, len]), a.slice([row, 0, 0, 0], [1, -1, len, len]), `row ${row} attention ${l}`));
      });
    });
    model.dispose();
    cached.close();
  });

  it('a .bin truncated after open is one CACHE_INVALID naming the file at the first read that reaches past its end', async () => {
    const copy = copyCache();
    const cached = await CachedTeacher.open(copy);
    const bin = join(copy, `${shardFileBase({ index: 1, count: 2 })}.bin`);
    truncateSync(bin, 64);
    // Rows of shard 0 still serve; the first row of shard 1 past byte 64 does not.
    tf.tidy(() => {
      cached.forward(batchOf([rows[0]!]), { training: false, outputHiddenStates: true });
    });
    const e = caught(() => cached.forward(batchOf([rows[0]!, rows[20]!]), { training: false, outputHiddenStates: true }));
    expect(e).toBeInstanceOf(DistilleryPluginsError);
    expect(e.code).toBe('CACHE_INVALID');
    expect(e.message).toMatch(new RegExp(`^teacher cache ${copy}: ${bin} ends at byte \\d+, before the row at bytes \\d+\\.\\.\\d+ its manifest lists; rerun cache-teacher for that shard\\.$`));
    cached.close();

    // Truncated before open: refused at open, naming the file and both sizes.
    await expect(CachedTeacher.open(copy)).rejects.toThrow(new RegExp(`^teacher cache ${copy}: ${bin} holds 16 floats, its manifest says \\d+; rerun cache-teacher for that shard\\.$`));
  });

  it('garbage bytes in a .bin (right size) are one CACHE_INVALID naming the file at the first read of them', async () => {
    const copy = copyCache();
    const bin = join(copy, `${shardFileBase({ index: 0, count: 2 })}.bin`);
    // 0xFF bytes are NaN floats, which no teacher output holds: overwrite row 3's hidden states.
    const fd = openSync(bin, 'r+');
    const rowOffset = rows.slice(0, 3).reduce((n, r) => n + pieces(r.length).logits + pieces(r.length).hidden + pieces(r.length).attentions, 0);
    writeSync(fd, new Uint8Array(16).fill(0xff), 0, 16, 4 * (rowOffset + pieces(rows[3]!.length).logits + 8));
    closeSync(fd);
    const cached = await CachedTeacher.open(copy);
    // The logits of that row are intact; its hidden states are not.
    tf.tidy(() => {
      cached.forward(batchOf([rows[3]!]), { training: false });
    });
    const e = caught(() => cached.forward(batchOf([rows[3]!]), { training: false, outputHiddenStates: true }));
    expect(e.code).toBe('CACHE_INVALID');
    expect(e.message).toBe(`teacher cache ${copy}: ${bin} holds a non-finite value at byte ${4 * (rowOffset + pieces(rows[3]!.length).logits + 8)}, which no teacher output has (the file is damaged); rerun cache-teacher for that shard.`);
    cached.close();
  });
});
