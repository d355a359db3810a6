/**
 * Teacher outputs computed once per example and reused across epochs. The teacher is frozen
 * and runs in eval mode, so its outputs for a given row never change. A row is keyed by its
 * content (ids, mask, token types, padded length included), so no example ids are needed.
 * Entries live in memory or on disk; either way the store has a byte limit and refuses to
 * grow past it with `CACHE_LIMIT` rather than exhausting memory or disk.
 */
import * as tf from '@tensorflow/tfjs';
import { defaultFileStore, hasSyncAccess, joinPath, type FileStore, type SyncFileStore } from '@distillery/storage';
import { DistilleryPluginsError } from './errors.js';
import { hostValues, onHost } from '@distillery/models';
import type { DistillOutputs, OutputRequest } from './plugin.js';
import { sha256Hex } from './row-hash.js';

type ListKey = 'hiddenStates' | 'attentions' | 'attentionScores';
const LIST_KEYS: readonly ListKey[] = ['hiddenStates', 'attentions', 'attentionScores'];

/** One example's outputs: each tensor without its batch axis. */
interface Entry {
  logits: Float32Array;
  lists: Partial<Record<ListKey, Float32Array[]>>;
  /** Per-example shapes (batch axis dropped). */
  shapes: { logits: number[]; lists: Partial<Record<ListKey, number[][]>> };
}

export interface TeacherCacheOptions {
  /** Largest total size of cached values. Default 1 GiB. */
  maxBytes?: number;
  /** Keep entries in this folder instead of memory. */
  dir?: string;
  /**
   * Where `dir` is (default: the file system in Node). Lookups happen inside the synchronous
   * training step, so it must read synchronously (NodeFileStore); in a browser cache in memory.
   */
  store?: FileStore;
}

export class TeacherCache {
  private readonly memory = new Map<string, Entry>();
  private readonly maxBytes: number;
  private bytes = 0;
  /** Deferred writes of outputs read from a GPU (see store), and the first failure among them. */
  private pending: Promise<void> = Promise.resolve();
  private deferred: unknown;
  /** The store of `options.dir`, when entries live on disk. */
  private readonly disk: SyncFileStore | undefined;
  hits = 0;
  misses = 0;

  constructor(private readonly options: TeacherCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? 2 ** 30;
    if (options.dir !== undefined) {
      const store = options.store ?? defaultFileStore();
      if (!hasSyncAccess(store)) {
        throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `teacherCache.dir ${options.dir}: a disk cache is read inside the synchronous training step, and ${store.where} has no synchronous reads; leave dir out to cache in memory (or cache on disk in Node).`);
      }
      store.mkdirSync(options.dir);
      this.disk = store;
    }
  }

  /** Bytes this cache has added (a disk folder reused from an earlier run is not counted). */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** A key per row of the batch: teacher index plus the row's ids, mask and token types. */
  static rowKeys(teacher: number, inputIds: tf.Tensor2D, attentionMask?: tf.Tensor2D, tokenTypeIds?: tf.Tensor2D): string[] {
    const [b, s] = inputIds.shape;
    const parts = [inputIds, attentionMask, tokenTypeIds].map((t) => (t ? hostValues(t, 'TeacherCache.rowKeys') : undefined));
    return Array.from({ length: b }, (_, row) => {
      return sha256Hex([`${teacher}|${s}`, ...parts.flatMap((p) => [p ? Int32Array.from(p.subarray(row * s, row * s + s)) : new Int32Array(0), '|'])]);
    });
  }

  /**
   * The batch's outputs if every row is cached with everything `request` asks for; else undefined.
   * The pooled output is never cached (one small tensor): asking for it always runs the teacher.
   */
  lookup(keys: readonly string[], request: OutputRequest): DistillOutputs | undefined {
    this.throwDeferred();
    const entries: Entry[] = [];
    for (const key of keys) {
      const e = this.read(key);
      if (e === undefined || request.pooledOutput || LIST_KEYS.some((k) => request[k] && e.lists[k] === undefined)) {
        this.misses += keys.length;
        return undefined;
      }
      entries.push(e);
    }
    this.hits += keys.length;
    // Built straight from host arrays: no intermediate tensors to tidy.
    const stack = (values: Float32Array[], shape: number[]): tf.Tensor => tf.tensor(concat(values), [values.length, ...shape]);
    const out: DistillOutputs = { logits: stack(entries.map((e) => e.logits), entries[0]!.shapes.logits) };
    for (const k of LIST_KEYS) {
      if (!request[k]) continue;
      const shapes = entries[0]!.shapes.lists[k]!;
      (out as Record<ListKey, tf.Tensor[]>)[k] = shapes.map((shape, layer) => stack(entries.map((e) => e.lists[k]![layer]!), shape));
    }
    return out;
  }

  /**
   * Store each row of freshly computed outputs. On a GPU backend the outputs are read with
   * `await data()` (a synchronous read throws in Node and stalls a browser's GPU pipeline), so
   * their rows become hits once the read lands; a lookup before that is a miss, which only
   * recomputes. A failure of that deferred write (CACHE_LIMIT) is thrown by the next call.
   */
  store(keys: readonly string[], outputs: DistillOutputs): void {
    this.throwDeferred();
    const named: Array<[ListKey | 'logits', tf.Tensor[]]> = [['logits', [outputs.logits]], ...LIST_KEYS.flatMap((k) => (outputs[k] ? [[k, outputs[k]!] as [ListKey, tf.Tensor[]]] : []))];
    const all = named.flatMap(([, ts]) => ts);
    if (all.every(onHost)) {
      this.storeRows(keys, named, all.map((t) => t.dataSync() as Float32Array));
      return;
    }
    // Clones share the data and outlive the caller's dispose of the outputs.
    const clones = all.map((t) => tf.keep(tf.clone(t)));
    this.pending = this.pending
      .then(() => Promise.all(clones.map((t) => t.data() as Promise<Float32Array>)))
      .then((data) => this.storeRows(keys, named, data))
      .catch((e: unknown) => void (this.deferred ??= e))
      .finally(() => tf.dispose(clones));
  }

  /** Resolves once every deferred write has landed (or failed: then it rethrows). */
  async flush(): Promise<void> {
    await this.pending;
    this.throwDeferred();
  }

  private throwDeferred(): void {
    if (this.deferred === undefined) return;
    const e = this.deferred;
    this.deferred = undefined;
    throw e;
  }

  /** `data[i]` holds the values of the i-th tensor of `named`, in order. */
  private storeRows(keys: readonly string[], named: ReadonlyArray<[ListKey | 'logits', tf.Tensor[]]>, data: readonly Float32Array[]): void {
    let next = 0;
    const read = named.map(([name, ts]) => [name, ts.map((t) => ({ data: data[next++]!, shape: t.shape.slice(1) }))] as const);
    const logits = read[0]![1][0]!;
    const lists = Object.fromEntries(read.slice(1)) as Partial<Record<ListKey, Array<{ data: Float32Array; shape: number[] }>>>;
    keys.forEach((key, row) => {
      const rowOf = (x: { data: Float32Array; shape: number[] }): Float32Array => {
        const n = x.shape.reduce((a, b) => a * b, 1);
        return x.data.slice(row * n, row * n + n);
      };
      const entry: Entry = { logits: rowOf(logits), lists: {}, shapes: { logits: logits.shape, lists: {} } };
      for (const k of LIST_KEYS) {
        if (!lists[k]) continue;
        entry.lists[k] = lists[k]!.map(rowOf);
        entry.shapes.lists[k] = lists[k]!.map((x) => x.shape);
      }
      this.write(key, entry);
    });
  }

  private entryBytes(e: Entry): number {
    return 4 * (e.logits.length + Object.values(e.lists).reduce((a, l) => a + l.reduce((b, x) => b + x.length, 0), 0));
  }

  private write(key: string, entry: Entry): void {
    const previous = this.read(key);
    const size = this.entryBytes(entry) - (previous ? this.entryBytes(previous) : 0);
    if (this.bytes + size > this.maxBytes) {
      throw new DistilleryPluginsError('CACHE_LIMIT', `teacher-output cache: adding an example would take it to ${mib(this.bytes + size)} MiB, over its ${mib(this.maxBytes)} MiB limit (${mib(this.bytes)} MiB cached). Raise teacherCache.maxBytes, request fewer teacher outputs, or turn the cache off.`);
    }
    this.bytes += size;
    if (this.disk === undefined || this.options.dir === undefined) {
      this.memory.set(key, entry);
      return;
    }
    const arrays = [entry.logits, ...LIST_KEYS.flatMap((k) => entry.lists[k] ?? [])];
    this.disk.writeFileSync(joinPath(this.options.dir, `${key}.json`), JSON.stringify(entry.shapes));
    this.disk.writeFileSync(joinPath(this.options.dir, `${key}.bin`), new Uint8Array(concat(arrays).buffer));
  }

  private read(key: string): Entry | undefined {
    if (this.disk === undefined || this.options.dir === undefined) return this.memory.get(key);
    const base = joinPath(this.options.dir, key);
    const json = this.disk.readFileSync(`${base}.json`);
    const buf = json && this.disk.readFileSync(`${base}.bin`);
    if (!json || !buf) return undefined;
    const shapes = JSON.parse(new TextDecoder().decode(json)) as Entry['shapes'];
    const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    let offset = 0;
    const take = (shape: number[]): Float32Array => {
      const n = shape.reduce((a, b) => a * b, 1);
      offset += n;
      return all.subarray(offset - n, offset);
    };
    const entry: Entry = { logits: take(shapes.logits), lists: {}, shapes };
    for (const k of LIST_KEYS) if (shapes.lists[k]) entry.lists[k] = shapes.lists[k]!.map(take);
    return entry;
  }
}

/** The arrays end to end in one. */
export function concat(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
