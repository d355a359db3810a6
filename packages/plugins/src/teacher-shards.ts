/**
 * Offline teacher outputs in shards (`distillery cache-teacher`, `distill --teacher-cache`). Each
 * shard job runs the frozen teacher once over its slice of the rows and writes, per row, the
 * logits (all of them, or the top-k per position plus the log-normaliser, for vocabulary-sized
 * logits) and the hidden states / attentions the plugins need, at the row's own length. The
 * student run opens every shard as a `CachedTeacher`, a stand-in model whose forward serves a
 * batch from the cache (padding each row back to the batch's length), so the teacher is never
 * loaded. Only the index (row key → shard, offset, length) is held in memory; a batch reads its
 * rows' pieces from the .bin files when it needs them. Rows are found by content (their token ids
 * and token types), not by position.
 *
 * Top-k bound (README "Long runs"; test/cli/teacher-cache.test.ts): the reconstruction keeps the
 * top-k logits and spreads the rest of the T = 1 mass evenly over the other `V − k` classes. For
 * T >= 1 an even tail has the most mass (Jensen), so the true and rebuilt distributions differ by
 * at most `r̃_T` in total variation (`r̃_T`: the rebuilt tail mass at T), and per row
 * `|KL(p‖q) − KL(p̃‖q)| ≤ r̃_T · (ln(V − 1) + max ln q − min ln q) + h(min(r̃_T, ½))`.
 */
import * as tf from '@tensorflow/tfjs';
import { hostValues } from '@distillery/models';
import { defaultFileStore, hasSyncAccess, joinPath, readText, type FileStore } from '@distillery/storage';
import { DistilleryPluginsError } from './errors.js';
import type { DistillBatch, DistillForwardOptions, DistillModel } from './objective.js';
import type { DistillOutputs, ModelShape, OutputRequest } from './plugin.js';
import { sha256Hex } from './row-hash.js';
import { concat } from './teacher-cache.js';

export const TEACHER_CACHE_FORMAT = 'distillery-teacher-cache/1';

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
}

export interface TeacherShardOptions {
  shard: ShardSpec;
  /** Keep only the k largest logits per position (plus the log-normaliser). Default: all. */
  topK?: number;
  hiddenStates?: boolean;
  attentions?: boolean;
}

interface ShardEntry {
  key: string;
  /** Float offset of the row's values in the shard's .bin. */
  offset: number;
  /** Real tokens of the row. */
  length: number;
}

export interface ShardManifest {
  format: typeof TEACHER_CACHE_FORMAT;
  shard: number;
  shards: number;
  /** Rows of the whole data file (all shards). */
  rows: number;
  /** The teacher's config (as the model holds it) and shape, for the student run's checks and plugins. */
  teacherConfig: Record<string, unknown>;
  modelShape: ModelShape;
  /** Logits per row without the batch axis, e.g. [numLabels]; token-level logits have the row length first. */
  logitsShape: number[];
  topK: number | null;
  hiddenStates: boolean;
  attentions: boolean;
  entries: ShardEntry[];
}

/** The rows a shard owns: a contiguous slice, so shard files concatenate back to the data order. */
export function shardRange(rows: number, shard: ShardSpec): { start: number; end: number } {
  return { start: Math.floor((rows * shard.index) / shard.count), end: Math.floor((rows * (shard.index + 1)) / shard.count) };
}

export function shardFileBase(shard: ShardSpec): string {
  return `shard-${String(shard.index).padStart(5, '0')}-of-${String(shard.count).padStart(5, '0')}`;
}

/** The key of one row: its real token ids and token types (absent types count as zeros). */
export function rowKey(inputIds: ArrayLike<number>, tokenTypeIds?: ArrayLike<number>): string {
  return sha256Hex([Int32Array.from(inputIds), '|', tokenTypeIds ? Int32Array.from(tokenTypeIds) : new Int32Array(inputIds.length)]);
}

/** A key per batch row (see rowKey), and the row's real length (its attention mask's sum). */
export function rowKeys(batch: DistillBatch): { keys: string[]; lengths: number[] } {
  const [b, s] = batch.inputIds.shape;
  // Host copies of the batch (never a synchronous read of a device tensor).
  const ids = hostValues(batch.inputIds, 'rowKeys');
  const mask = batch.attentionMask && hostValues(batch.attentionMask, 'rowKeys');
  const types = batch.tokenTypeIds && hostValues(batch.tokenTypeIds, 'rowKeys');
  const keys: string[] = [];
  const lengths: number[] = [];
  for (let row = 0; row < b; row++) {
    const length = mask ? Array.from(mask.subarray(row * s, row * s + s)).reduce((a, v) => a + Number(v), 0) : s;
    keys.push(rowKey(ids.subarray(row * s, row * s + length), types?.subarray(row * s, row * s + length)));
    lengths.push(length);
  }
  return { keys, lengths };
}

const prod = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Per-row logits shape at a row length: token-level logits ([S, C]) keep the row's own length. */
function rowLogitsShape(perRow: readonly number[], length: number): number[] {
  return perRow.length === 2 ? [length, perRow[1]!] : [...perRow];
}

/**
 * `[P, V]` logits → per position the k largest values, their indices and the log-normaliser
 * (`logsumexp`), as `[P, 2k + 1]`: `[values(k), indices(k), logZ]` per position.
 */
function topKRows(logits: tf.Tensor2D, k: number): tf.Tensor2D {
  const { values, indices } = tf.topk(logits, k);
  return tf.concat([values, tf.cast(indices, 'float32'), tf.logSumExp(logits, -1, true)], 1) as tf.Tensor2D;
}

/**
 * Full logits from top-k rows: the k kept values, and every other class at the one value that
 * gives the rest of the mass (1 − Σ top-k probabilities, at T = 1) spread evenly over them.
 */
export function expandTopK(packed: Float32Array, positions: number, k: number, classes: number): Float32Array {
  const out = new Float32Array(positions * classes);
  for (let p = 0; p < positions; p++) {
    const at = p * (2 * k + 1);
    const logZ = packed[at + 2 * k]!;
    let kept = 0;
    for (let j = 0; j < k; j++) kept += Math.exp(packed[at + j]! - logZ);
    const rest = Math.max(1 - kept, 1e-30);
    out.fill(Math.log(rest / (classes - k)) + logZ, p * classes, (p + 1) * classes);
    for (let j = 0; j < k; j++) out[p * classes + packed[at + k + j]!] = packed[at + j]!;
  }
  return out;
}

/** Throws CACHE_INVALID naming `file` when a top-k row holds an index that is not a class. */
function checkTopKIndices(packed: Float32Array, positions: number, k: number, classes: number, file: string): void {
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < k; j++) {
      const index = packed[p * (2 * k + 1) + k + j]!;
      if (!Number.isInteger(index) || index < 0 || index >= classes) throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache: ${file} holds top-k index ${index}, not one of the teacher's ${classes} classes (the file is damaged); rerun cache-teacher for that shard.`);
    }
  }
}

/**
 * Floats of each piece of one row in a shard, stored in this order: logits (or top-k rows, one per
 * logit position), hidden states, attentions (0 when the shard holds none).
 */
function rowLayout(m: Pick<ShardManifest, 'logitsShape' | 'topK' | 'hiddenStates' | 'attentions' | 'modelShape'>, length: number): { positions: number; logits: number; hidden: number; attentions: number } {
  const shape = rowLogitsShape(m.logitsShape, length);
  const positions = prod(shape) / shape.at(-1)!;
  const { numLayers, hiddenSize, numHeads } = m.modelShape;
  return {
    positions,
    logits: m.topK === null ? prod(shape) : positions * (2 * m.topK + 1),
    hidden: m.hiddenStates ? (numLayers + 1) * length * hiddenSize : 0,
    attentions: m.attentions ? numLayers * numHeads * length * length : 0,
  };
}

/** Floats one row takes in a shard. */
function rowFloats(m: Pick<ShardManifest, 'logitsShape' | 'topK' | 'hiddenStates' | 'attentions' | 'modelShape'>, length: number): number {
  const { logits, hidden, attentions } = rowLayout(m, length);
  return logits + hidden + attentions;
}

/**
 * Run the teacher (eval mode) over `batches` (already collated rows of this shard, in order) and
 * pack each row's outputs. Returns the manifest and the floats of the shard's .bin.
 */
export async function computeTeacherShard(
  teacher: DistillModel,
  batches: Iterable<DistillBatch>,
  info: { rows: number; modelShape: ModelShape },
  options: TeacherShardOptions,
): Promise<{ manifest: ShardManifest; data: Float32Array }> {
  const chunks: Float32Array[] = [];
  const entries: ShardEntry[] = [];
  let offset = 0;
  let logitsShape: number[] | undefined;
  const topK = options.topK ?? null;
  const flags = { training: false, outputHiddenStates: options.hiddenStates ?? false, outputAttentions: options.attentions ?? false };
  for (const batch of batches) {
    const { keys, lengths } = rowKeys(batch);
    const s = batch.inputIds.shape[1];
    // Per row, its pieces at its own length: logits (or top-k rows), then each layer's hidden states and attentions.
    const pieces = tf.tidy(() => {
      const out = teacher.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask, tokenTypeIds: batch.tokenTypeIds }, flags);
      logitsShape ??= out.logits.shape.length === 3 ? [s, out.logits.shape[2]!] : out.logits.shape.slice(1);
      const classes = logitsShape.at(-1)!;
      if (topK !== null && topK >= classes) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `top-k ${topK} keeps every one of the teacher's ${classes} classes; pass a smaller k, or none to keep full logits.`);
      return lengths.map((length, row) => {
        let logits = out.logits.slice(row, 1);
        if (out.logits.shape.length === 3) logits = logits.slice([0, 0, 0], [1, length, classes]);
        return [
          topK === null ? logits : topKRows(logits.reshape([-1, classes]) as tf.Tensor2D, topK),
          ...(options.hiddenStates ? out.hiddenStates!.map((h) => h.slice([row, 0, 0], [1, length, -1])) : []),
          ...(options.attentions ? out.attentions!.map((a) => a.slice([row, 0, 0, 0], [1, -1, length, length])) : []),
        ];
      });
    });
    try {
      for (const [row, parts] of pieces.entries()) {
        const values = concat((await Promise.all(parts.map((t) => t.data()))) as Float32Array[]);
        entries.push({ key: keys[row]!, offset, length: lengths[row]! });
        chunks.push(values);
        offset += values.length;
      }
    } finally {
      tf.dispose(pieces.flat());
    }
  }
  if (logitsShape === undefined) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `shard ${options.shard.index}/${options.shard.count} owns no rows (the data has ${info.rows}); use fewer shards.`);
  const manifest: ShardManifest = {
    format: TEACHER_CACHE_FORMAT, shard: options.shard.index, shards: options.shard.count, rows: info.rows,
    teacherConfig: JSON.parse(JSON.stringify((teacher as { config?: unknown }).config ?? {})) as Record<string, unknown>,
    modelShape: info.modelShape, logitsShape, topK, hiddenStates: options.hiddenStates ?? false, attentions: options.attentions ?? false, entries,
  };
  return { manifest, data: concat(chunks) };
}

/**
 * Where one shard's floats come from. With a store that reads synchronously (Node), the .bin is
 * opened once and each row read at its offset when a batch needs it, so only the index lives in
 * memory; a store without synchronous reads (a browser's OPFS) has the whole .bin read at open.
 */
interface ShardSource {
  readonly file: string;
  /**
   * Floats `[offset, offset + count)`, valid until the next read (one reused buffer per shard);
   * throws CACHE_INVALID naming the file when they are not all there.
   */
  read(offset: number, count: number): Float32Array;
  close(): void;
}

async function openShard(store: FileStore, file: string, expectedFloats: number, fail: (message: string) => never): Promise<ShardSource> {
  const rerun = 'rerun cache-teacher for that shard.';
  const sizeCheck = (bytes: number): void => {
    if (bytes !== expectedFloats * 4) fail(`${file} holds ${bytes / 4} floats, its manifest says ${expectedFloats}; ${rerun}`);
  };
  if (!hasSyncAccess(store)) {
    const bytes = await store.readFile(file);
    sizeCheck(bytes.byteLength);
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { file, read: (offset, count) => data.subarray(offset, offset + count), close: () => undefined };
  }
  const reader = store.openReader(file);
  try {
    sizeCheck(reader.size);
  } catch (e) {
    reader.close();
    throw e;
  }
  let scratch = new Float32Array(0);
  return {
    file,
    read(offset, count) {
      if (scratch.length < count) scratch = new Float32Array(count);
      const values = scratch.subarray(0, count);
      let bytes: number;
      try {
        bytes = reader.read(offset * 4, new Uint8Array(values.buffer, 0, count * 4));
      } catch (cause) {
        throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache: reading ${file} failed (${(cause as Error).message}); ${rerun}`, { cause });
      }
      // The file changed since it was opened (truncated by another job, a full disk on a copy).
      if (bytes !== count * 4) fail(`${file} ends at byte ${offset * 4 + bytes}, before the row at bytes ${offset * 4}..${(offset + count) * 4} its manifest lists; ${rerun}`);
      return values;
    },
    close: () => reader.close(),
  };
}

/** One row in the index: its shard, its first float there, its real tokens. */
interface RowRef {
  shard: ShardSource;
  offset: number;
  length: number;
}

/** A stand-in teacher that serves every batch from a complete set of shards, reading rows on demand. */
export class CachedTeacher implements DistillModel {
  readonly config: Record<string, unknown>;
  readonly modelShape: ModelShape;
  /** Bytes read from the shards' .bin files after open (rows served), for memory and I/O accounting. */
  bytesRead = 0;
  private readonly rows = new Map<string, RowRef>();
  private readonly head: ShardManifest;
  private readonly sources: ShardSource[];

  private constructor(readonly dir: string, shards: Array<{ manifest: ShardManifest; source: ShardSource }>) {
    this.head = shards[0]!.manifest;
    this.config = this.head.teacherConfig;
    this.modelShape = this.head.modelShape;
    this.sources = shards.map((s) => s.source);
    for (const { manifest, source } of shards) for (const e of manifest.entries) this.rows.set(e.key, { shard: source, offset: e.offset, length: e.length });
  }

  /**
   * Open every shard in `dir` of `store` (manifests read, .bin sizes checked, rows not read);
   * refuses an incomplete or mixed set, naming what is missing or differs. `close()` releases the files.
   */
  static async open(dir: string, store: FileStore = defaultFileStore()): Promise<CachedTeacher> {
    const fail = (message: string): never => {
      throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache ${dir}: ${message}`);
    };
    const found = await store.stat(dir);
    if (!found) fail('does not exist; write it with `distillery cache-teacher --out DIR`.');
    if (found?.kind !== 'directory') fail('is a file, not the folder of shards `distillery cache-teacher --out DIR` writes; name that folder.');
    const listed = await store.list(dir);
    const names = listed.filter((n) => /^shard-\d+-of-\d+\.json$/.test(n));
    if (names.length === 0) fail('holds no shard-<i>-of-<n>.json; write it with `distillery cache-teacher --out DIR`.');
    const manifests = await Promise.all(names.map(async (name) => {
      let manifest: ShardManifest;
      try {
        manifest = JSON.parse(await readText(store, joinPath(dir, name))) as ShardManifest;
      } catch (cause) {
        throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache ${dir}: ${name} is not valid JSON (${(cause as Error).message}); rerun cache-teacher for that shard.`, { cause });
      }
      if (manifest.format !== TEACHER_CACHE_FORMAT) fail(`${name} has format ${JSON.stringify(manifest.format)}, not ${TEACHER_CACHE_FORMAT}; rerun cache-teacher.`);
      if (!listed.includes(name.replace(/\.json$/, '.bin'))) fail(`${name} has no ${name.replace(/\.json$/, '.bin')}; rerun cache-teacher for that shard.`);
      return { manifest, name };
    }));
    const first = manifests[0]!.manifest;
    const same: Array<keyof ShardManifest> = ['shards', 'rows', 'teacherConfig', 'logitsShape', 'topK', 'hiddenStates', 'attentions'];
    for (const { manifest, name } of manifests) {
      const field = same.find((k) => JSON.stringify(manifest[k]) !== JSON.stringify(first[k]));
      if (field !== undefined) fail(`${name} has ${field} ${JSON.stringify(manifest[field])} but ${manifests[0]!.name} has ${JSON.stringify(first[field])}; every shard must come from one cache-teacher setup.`);
    }
    const present = new Set(manifests.map((s) => s.manifest.shard));
    const missing = Array.from({ length: first.shards }, (_, i) => i).filter((i) => !present.has(i));
    if (missing.length > 0) fail(`shard(s) ${missing.join(', ')} of ${first.shards} are missing; run cache-teacher --shard i/${first.shards} for them.`);
    const shards: Array<{ manifest: ShardManifest; source: ShardSource }> = [];
    try {
      for (const { manifest, name } of manifests) {
        const expected = manifest.entries.reduce((n, e) => n + rowFloats(manifest, e.length), 0);
        shards.push({ manifest, source: await openShard(store, joinPath(dir, name.replace(/\.json$/, '.bin')), expected, fail) });
      }
    } catch (e) {
      for (const s of shards) s.source.close();
      throw e;
    }
    return new CachedTeacher(dir, shards);
  }

  /** Release the shard files (the cache serves nothing after). */
  close(): void {
    for (const s of this.sources) s.close();
  }

  /**
   * Throws CACHE_INVALID naming what `request` asks for that the shards do not hold (call it
   * before training). `rerun` says how to write a cache that does (the CLI names its config).
   */
  checkServes(request: OutputRequest, rerun = 'rerun cache-teacher with --hidden-states / --attentions'): void {
    const m = this.head;
    const missing = [request.hiddenStates && !m.hiddenStates && 'hidden states', request.attentions && !m.attentions && 'attentions', request.attentionScores && 'attention scores'].filter(Boolean);
    if (missing.length > 0) throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache ${this.dir} lacks the ${missing.join(' and ')} the plugins ask for; ${missing.includes('attention scores') ? 'distil with the live teacher (scores are not cached)' : rerun}.`);
  }

  /** Whether the cache holds this row (to check a data file before training). */
  has(example: { inputIds: ArrayLike<number>; tokenTypeIds?: ArrayLike<number> }): boolean {
    return this.rows.has(rowKey(example.inputIds, example.tokenTypeIds));
  }

  get topK(): number | null {
    return this.head.topK;
  }

  /** The cache stores outputs, not weights (a plugin reading teacher weights needs the live teacher). */
  namedParameters(): Map<string, tf.Variable> {
    return new Map();
  }

  /** Floats of one row piece; teacher outputs are finite, so a NaN or infinity means a damaged file. */
  private read(shard: ShardSource, offset: number, count: number): Float32Array {
    const values = shard.read(offset, count);
    this.bytesRead += count * 4;
    // A plain loop: findIndex with a callback costs more than the read itself on hidden states.
    let bad = -1;
    for (let i = 0; i < count && bad < 0; i++) if (values[i]! - values[i]! !== 0) bad = i;
    if (bad >= 0) throw new DistilleryPluginsError('CACHE_INVALID', `teacher cache ${this.dir}: ${shard.file} holds a non-finite value at byte ${(offset + bad) * 4}, which no teacher output has (the file is damaged); rerun cache-teacher for that shard.`);
    return values;
  }

  forward(inputs: DistillBatch, options: DistillForwardOptions): DistillOutputs {
    const m = this.head;
    this.checkServes({ hiddenStates: options.outputHiddenStates, attentions: options.outputAttentions, attentionScores: options.outputAttentionScores });
    const { keys, lengths } = rowKeys(inputs);
    const [b, s] = inputs.inputIds.shape;
    const { numLayers, hiddenSize: h, numHeads } = m.modelShape;
    const found = keys.map((key, row) => {
      const e = this.rows.get(key);
      if (e === undefined || e.length !== lengths[row]) throw new DistilleryPluginsError('CACHE_MISS', `teacher cache ${this.dir} has no outputs for a batch row of ${lengths[row]} tokens (ids ${Array.from(hostValues(inputs.inputIds, 'rowKeys').subarray(row * s, row * s + Math.min(8, s))).join(' ')} ...); run cache-teacher on this data file with the same tokenizer and maxLength.`);
      return e;
    });
    const tokenLevel = m.logitsShape.length === 2;
    const classes = m.logitsShape.at(-1)!;
    const logits = new Float32Array(b * (tokenLevel ? s : 1) * classes);
    const hidden = options.outputHiddenStates ? Array.from({ length: numLayers + 1 }, () => new Float32Array(b * s * h)) : [];
    const attentions = options.outputAttentions ? Array.from({ length: numLayers }, () => new Float32Array(b * numHeads * s * s)) : [];
    found.forEach((e, row) => {
      const len = e.length;
      const { positions, logits: n, hidden: hiddenFloats, attentions: attentionFloats } = rowLayout(m, len);
      // Only the pieces this forward asks for are read: [logits | hidden states | attentions].
      const packed = this.read(e.shard, e.offset, n);
      if (m.topK !== null) checkTopKIndices(packed, positions, m.topK, classes, e.shard.file);
      // Padded token positions stay zero, as the plugins mask them out.
      logits.set(m.topK === null ? packed : expandTopK(packed, positions, m.topK, classes), row * (tokenLevel ? s : 1) * classes);
      if (options.outputHiddenStates) {
        const values = this.read(e.shard, e.offset + n, hiddenFloats);
        for (let l = 0; l <= numLayers; l++) hidden[l]!.set(values.subarray(l * len * h, (l + 1) * len * h), row * s * h);
      }
      if (options.outputAttentions) {
        const values = this.read(e.shard, e.offset + n + hiddenFloats, attentionFloats);
        for (let l = 0; l < numLayers; l++) {
          for (let head = 0; head < numHeads; head++) {
            for (let q = 0; q < len; q++) {
              const from = ((l * numHeads + head) * len + q) * len;
              attentions[l]!.set(values.subarray(from, from + len), ((row * numHeads + head) * s + q) * s);
            }
          }
        }
      }
    });
    return {
      logits: tf.tensor(logits, tokenLevel ? [b, s, classes] : [b, classes]),
      ...(options.outputHiddenStates && { hiddenStates: hidden.map((x) => tf.tensor3d(x, [b, s, h])) }),
      ...(options.outputAttentions && { attentions: attentions.map((x) => tf.tensor4d(x, [b, numHeads, s, s])) }),
    };
  }
}
