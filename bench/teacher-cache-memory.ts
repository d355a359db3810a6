/**
 * `distill --teacher-cache` memory and CPU on a cache with hidden states: a synthetic shard set
 * (random finite floats; `--rows`, `--length`, `--layers`, `--hidden`, `--shards`) is opened with
 * `CachedTeacher.open` and served once in batches of 32 with hidden states, as a training epoch asks.
 * Prints CPU time (process.cpuUsage, so other load on the machine disturbs it little) and RSS
 * (after open, and the peak over the pass). `pnpm tsx --conditions=distillery-source bench/teacher-cache-memory.ts`.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { CachedTeacher, TEACHER_CACHE_FORMAT, rowKey, shardFileBase, shardRange, type ShardManifest } from '@distillery/plugins';

const { values: opts } = parseArgs({ options: { rows: { type: 'string', default: '1024' }, length: { type: 'string', default: '128' }, layers: { type: 'string', default: '4' }, hidden: { type: 'string', default: '128' }, shards: { type: 'string', default: '2' } } });
const [rows, length, layers, hidden, shards] = [opts.rows, opts.length, opts.layers, opts.hidden, opts.shards].map(Number) as [number, number, number, number, number];
const ids = (row: number): number[] => Array.from({ length }, (_, i) => 1 + ((row * 7919 + i * 31) % 1000));

const dir = mkdtempSync(join(tmpdir(), 'distillery-cache-bench-'));
const perRow = 2 + (layers + 1) * length * hidden;
let binBytes = 0;
for (let index = 0; index < shards; index++) {
  const { start, end } = shardRange(rows, { index, count: shards });
  const manifest: ShardManifest = {
    format: TEACHER_CACHE_FORMAT, shard: index, shards, rows, teacherConfig: { numLabels: 2, vocabSize: 1024 },
    modelShape: { numLayers: layers, hiddenSize: hidden, numHeads: 2 }, logitsShape: [2], topK: null, hiddenStates: true, attentions: false,
    entries: Array.from({ length: end - start }, (_, i) => ({ key: rowKey(ids(start + i)), offset: i * perRow, length })),
  };
  const base = join(dir, shardFileBase({ index, count: shards }));
  // Row by row, so the bench's own start holds no shard in memory.
  const fd = openSync(`${base}.bin`, 'w');
  for (let row = start; row < end; row++) writeSync(fd, new Float32Array(perRow).map(() => Math.random() - 0.5));
  closeSync(fd);
  writeFileSync(`${base}.json`, JSON.stringify(manifest));
  binBytes += (end - start) * perRow * 4;
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
global.gc?.();
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const cached = await CachedTeacher.open(dir);
const cpuOpen = process.cpuUsage(cpu0);
const rssOpen = process.memoryUsage().rss;
let peak = rssOpen;
const cpu1 = process.cpuUsage();
for (let at = 0; at < rows; at += 32) {
  const batch = Array.from({ length: Math.min(32, rows - at) }, (_, i) => ids(at + i));
  tf.tidy(() => {
    const out = cached.forward({ inputIds: tf.tensor2d(batch, undefined, 'int32') }, { training: false, outputHiddenStates: true });
    return out.hiddenStates!.length;
  });
  peak = Math.max(peak, process.memoryUsage().rss);
}
const cpuPass = process.cpuUsage(cpu1);
cached.close();
rmSync(dir, { recursive: true, force: true });
const ms = (u: NodeJS.CpuUsage): string => ((u.user + u.system) / 1000).toFixed(0);
console.log(`cache: ${rows} rows × ${length} tokens, ${layers + 1} hidden states of ${hidden}, ${shards} shards, .bin ${mib(binBytes)} MiB`);
console.log(`open: ${ms(cpuOpen)} ms CPU, RSS +${mib(rssOpen - rss0)} MiB; one pass (batches of 32, hidden states): ${ms(cpuPass)} ms CPU, peak RSS +${mib(peak - rss0)} MiB over the start (${mib(peak)} MiB)`);
