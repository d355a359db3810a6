/**
 * `pnpm bench`: one distillation step, ours against PyTorch on the same machine (issues 7, 17).
 * For batch 16, vocab 30522 and the teacher → student pairs of bench/lib/spec.ts (three at seq
 * 128, the base pair at seq 64/256/512, DistilBERT's 12 → 6 layers), per backend: median ms of
 * the teacher forward, the student forward+backward+AdamW, and the full distillation step
 * (logit KD + projected hidden MSE + head-averaged attention MSE), tokens/s, matmul GFLOP/s and
 * its fraction of the sgemm peak the bench measures first, peak RSS, tf.memory() bytes, and
 * where one profiled step spends its kernel time; then bench/torch_step.py with the same spec,
 * and ours/PyTorch per phase and in peak RSS.
 *
 *   pnpm bench [--backends native,wasm,cpu] [--pairs small,mid,base,...] [--reps N] [--json FILE]
 *              [--no-torch] [--leak-steps N] [--bert-base]
 *
 * Every (backend, pair) runs in its own worker process (bench/lib/worker.ts), so peak RSS is
 * that row's alone. Not a test: CI never runs it.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { describeAdapter, probeWebGpuAdapter } from '@distillery/backends';
import { registerNativeBackend } from '@distillery/native';
import { measureSgemmPeak } from './lib/peak.js';
import { runTorch, torchBlas, torchMissing } from './lib/torch.js';
import { BACKENDS, BATCH, CATEGORIES, PAIRS, SEQ, TINY_PAIR, VOCAB, type Backend, type Pair, type Row } from './lib/spec.js';
import { ROW_MARKER, type WorkerJob } from './lib/worker-job.js';

const WORKER = fileURLToPath(new URL('./lib/worker.ts', import.meta.url));

/**
 * Default repetitions per backend (a heavy pair may ask for fewer), sized so `pnpm bench
 * --backends native` stays under ~8 minutes on 2 idle cores. By default wasm runs the three
 * seq-128 pairs and tfjs-cpu only the small one (the mid pair alone would take ~10 minutes there).
 */
const DEFAULT_REPS: Record<Backend, number> = { webgpu: 3, native: 5, wasm: 3, cpu: 1 };
const ALL_BUT_TINY = PAIRS.map((p) => p.name).filter((n) => n !== TINY_PAIR);
const DEFAULT_PAIRS: Record<Backend, readonly string[]> = { webgpu: ALL_BUT_TINY, native: ALL_BUT_TINY, wasm: ['small', 'mid', 'base'], cpu: ['small'] };

function usage(message: string): never {
  console.error(`pnpm bench: ${message}\nusage: pnpm bench [--backends ${BACKENDS.join(',')}] [--pairs ${PAIRS.map((p) => p.name).join(',')}] [--reps N] [--json FILE] [--no-torch] [--leak-steps N] [--bert-base]`);
  process.exit(2);
}

function listOption<T extends string>(raw: string | undefined, allowed: readonly T[], flag: string): T[] | undefined {
  if (raw === undefined) return undefined;
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (bad.length || !items.length) usage(`${flag} ${raw}: pick from ${allowed.join(', ')}`);
  return items as T[];
}

function countOption(raw: string | undefined, flag: string, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) usage(`${flag} ${raw}: expected an integer ≥ ${min}`);
  return n;
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      backends: { type: 'string' }, pairs: { type: 'string' }, reps: { type: 'string' }, json: { type: 'string' },
      'no-torch': { type: 'boolean' }, 'leak-steps': { type: 'string' }, 'bert-base': { type: 'boolean' },
    },
  }).values;
} catch (e) {
  usage((e as Error).message);
}
const explicitBackends = listOption(parsed.backends, BACKENDS, '--backends');
const explicitPairs = listOption(parsed.pairs, PAIRS.map((p) => p.name), '--pairs');
const pairs = (explicitPairs ?? PAIRS.map((p) => p.name)).map((n) => PAIRS.find((p) => p.name === n)!);
const repsOf = (backend: Backend | 'pytorch', pair: Pair) => repsOverride ?? pair.reps ?? DEFAULT_REPS[backend === 'pytorch' ? 'native' : backend];
const repsOverride = countOption(parsed.reps, '--reps', 1);
const leakSteps = countOption(parsed['leak-steps'], '--leak-steps', 0) ?? 50;
const notes: string[] = [];

/**
 * Backends that can start here; native only when its addon built, webgpu when Dawn finds an
 * adapter (a software one only when asked for by name). wasm and cpu always load.
 */
function availableBackends(): Backend[] {
  const native = registerNativeBackend();
  if (!native.ok) notes.push(`native backend unavailable: ${native.why}`);
  const gpu = probeWebGpuAdapter();
  const adapter = gpu.ok ? gpu.adapter : null;
  if (!gpu.ok) notes.push(`webgpu unavailable: ${gpu.why}`);
  else if (adapter === null) notes.push('webgpu unavailable: Dawn found no adapter (see README, GPU)');
  else if (adapter.software) {
    notes.push(`webgpu runs on ${describeAdapter(adapter)}: a GPU emulated on the CPU, so its rows (labelled "slow") are no GPU numbers; by default it runs only the ${TINY_PAIR} pair`);
    DEFAULT_PAIRS.webgpu = [TINY_PAIR];
  }
  const webgpu = adapter !== null && (!adapter.software || explicitBackends?.includes('webgpu') === true);
  return BACKENDS.filter((b) => (b !== 'native' || native.ok) && (b !== 'webgpu' || webgpu));
}

/** Run one job in a fresh process; its log lines pass through, its row comes back. */
function runWorker(job: WorkerJob): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, WORKER, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let row: Row | undefined;
    let stderr = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith(ROW_MARKER)) row = JSON.parse(line.slice(ROW_MARKER.length)) as Row;
        else if (line) console.log(`  ${line}`);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => {
      if (row) return resolve(row);
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      reject(new Error(`${job.backend}/${job.pair} worker ${signal ?? `exit ${code}`}: ${last || 'no output'}`));
    });
  });
}

// A phase a row does not measure is NaN in the worker and null after JSON.
const fmt = (x: number | null | undefined, digits = 0) => (typeof x !== 'number' || Number.isNaN(x) ? '—' : x.toFixed(digits));
const ratioCell = (x: number | null | undefined) => (typeof x !== 'number' || Number.isNaN(x) ? '—' : `${x.toFixed(2)}×`);
const percent = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${(100 * x).toFixed(0)}%`);

function markdownTable(header: string[], body: string[][], textColumns: number): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i < textColumns ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const r of body) console.log(line(r));
}

function printTables(rows: Row[]): void {
  markdownTable(
    ['pair', 'backend', 'seq', 'teacher fwd ms', 'student step ms', 'distill step ms', 'tokens/s', 'GFLOP', 'GFLOP/s', '% sgemm peak', 'peak RSS MiB', 'tf peak MiB', '÷torch fwd', '÷torch student', '÷torch distill', '÷torch RSS'],
    rows.map((r) => [
      r.pair, r.adapter?.software ? `${r.backend} (slow: software GPU)` : r.backend, String(r.seq), fmt(r.teacherForwardMs), fmt(r.studentStepMs), fmt(r.distillStepMs), fmt(r.tokensPerSecond), fmt(r.distillGflop),
      fmt(r.gflops), percent(r.peakFraction), fmt(r.peakRssMiB), fmt(r.tfPeakMiB), ratioCell(r.ratio?.teacherForward), ratioCell(r.ratio?.studentStep),
      ratioCell(r.ratio?.distillStep), ratioCell(r.ratio?.peakRss),
    ]),
    2,
  );
  const profiled = rows.filter((r) => r.profile);
  if (!profiled.length) return;
  console.log('\nkernel time of one profiled distill step, by category (% of the kernels\' total; tf.profile)');
  markdownTable(
    ['pair', 'backend', 'kernels ms', ...CATEGORIES],
    profiled.map((r) => {
      const total = CATEGORIES.reduce((sum, c) => sum + r.profile![c], 0);
      return [r.pair, r.backend, fmt(total), ...CATEGORIES.map((c) => `${((100 * r.profile![c]) / total).toFixed(1)}%`)];
    }),
    2,
  );
}

const started = performance.now();
const available = availableBackends();
const backends = explicitBackends ?? available;
for (const b of backends) if (!available.includes(b)) usage(`--backends ${b}: that backend cannot start here (${notes.join('; ')})`);
console.log(`distillery bench: batch ${BATCH} × seq ${SEQ}, vocab ${VOCAB}; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; node ${process.version}, tfjs ${tf.version.tfjs}`);

const rows: Row[] = [];
let peak: { gflops: number; n: number } | undefined;
if (parsed['bert-base']) {
  // The 12-layer check wants the backend without wasm's 4 GiB heap cap; wasm is tried only on request.
  const target = explicitBackends ?? (available.includes('native') ? ['native' as const] : []);
  if (!target.length) console.log('bert-base: the native backend is not available, and wasm cannot hold a 12-layer, 768-wide BERT at batch 16 × seq 128 (4 GiB heap); build @distillery/native.');
  for (const backend of target) {
    console.log(`bert-base (12L/768H/12 student, batch ${BATCH} × seq ${SEQ}) on ${backend}:`);
    try {
      rows.push(await runWorker({ backend, pair: 'bert-base', reps: repsOverride ?? 3, leakSteps: 0 }));
    } catch (e) {
      console.log(`  failed: ${(e as Error).message}`);
    }
  }
} else {
  if (available.includes('native')) {
    peak = await measureSgemmPeak('native');
    console.log(`sgemm peak (OpenBLAS through the native backend, best of ${peak.n}³ products): ${peak.gflops.toFixed(1)} GFLOP/s`);
  } else notes.push('no sgemm peak: the native backend (OpenBLAS) is unavailable, so the % sgemm peak column is empty');
  const leakBackend = backends[0];
  for (const backend of backends) {
    let runPairs: Pair[] = pairs;
    const defaults = DEFAULT_PAIRS[backend];
    if (!explicitPairs) {
      runPairs = pairs.filter((p) => defaults.includes(p.name));
      // The tiny pair exists for emulated GPUs; leaving it out elsewhere is no time-budget skip.
      const skipped = pairs.filter((p) => !runPairs.includes(p) && p.name !== TINY_PAIR).map((p) => p.name);
      if (skipped.length) notes.push(`${backend}: skipped ${skipped.join(', ')} by default (too slow for the bench's time budget); run them with --backends ${backend} --pairs ${skipped.join(',')}`);
    }
    for (const [i, pair] of runPairs.entries()) {
      const reps = repsOf(backend, pair);
      const job: WorkerJob = { backend, pair: pair.name, reps, leakSteps: backend === leakBackend && i === 0 ? leakSteps : 0 };
      console.log(`running ${backend}/${pair.name} (teacher ${pair.teacher.join('/')} → student ${pair.student.join('/')}, seq ${pair.seq ?? SEQ}, ${reps} reps${job.leakSteps ? `, then ${job.leakSteps} steps for the numTensors check` : ''})`);
      try {
        const row = await runWorker(job);
        rows.push(row);
        console.log(`  teacher fwd ${fmt(row.teacherForwardMs)} ms, student step ${fmt(row.studentStepMs)} ms, distill step ${fmt(row.distillStepMs)} ms (${fmt(row.gflops)} GFLOP/s)`);
      } catch (e) {
        notes.push((e as Error).message);
      }
    }
  }

  if (parsed['no-torch']) notes.push('PyTorch twin skipped (--no-torch)');
  else {
    const missing = torchMissing();
    if (missing) notes.push(`PyTorch twin skipped: ${missing}`);
    else {
      const blas = torchBlas();
      // The twin runs every pair some backend ran (the same reps as native's).
      const torchPairs = pairs.filter((p) => rows.some((r) => r.pair === p.name));
      console.log(`running PyTorch twin (bench/torch_step.py, one process per pair, BLAS: ${blas})`);
      const torch = runTorch(torchPairs, (p) => repsOf('pytorch', p), (t) => console.log(`  pytorch/${t.pair}: teacher fwd ${fmt(t.teacherForwardMs)} ms, student step ${fmt(t.studentStepMs)} ms, distill step ${fmt(t.distillStepMs)} ms (${fmt(t.gflops)} GFLOP/s)`));
      for (const r of rows) {
        const t = torch.rows.find((x) => x.pair === r.pair);
        if (t) {
          r.ratio = {
            teacherForward: r.teacherForwardMs / t.teacherForwardMs, studentStep: r.studentStepMs / t.studentStepMs, distillStep: r.distillStepMs / t.distillStepMs,
            ...(r.peakRssMiB && t.peakRssMiB ? { peakRss: r.peakRssMiB / t.peakRssMiB } : {}),
          };
        }
      }
      rows.push(...torch.rows);
      notes.push(`PyTorch ${torch.version ?? '?'} with ${blas}, 2 threads`);
    }
  }
  rows.sort((a, b) => pairs.findIndex((p) => p.name === a.pair) - pairs.findIndex((p) => p.name === b.pair));
}

if (peak) for (const r of rows) r.peakFraction = r.gflops / peak.gflops;
console.log('');
printTables(rows);
for (const r of rows) {
  if (r.leakCheck) {
    const { steps, before, after } = r.leakCheck;
    console.log(`numTensors across ${steps} distill steps (${r.backend}/${r.pair}): ${before} → ${after} (${after === before ? 'no growth' : `GREW by ${after - before}`})`);
  }
}
for (const n of notes) console.log(`note: ${n}`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
if (parsed.json) {
  writeFileSync(parsed.json, JSON.stringify({ batch: BATCH, seq: SEQ, vocab: VOCAB, tfjs: tf.version.tfjs, node: process.version, cpus: cpus().length, sgemmPeakGflops: peak?.gflops ?? null, rows, notes }, null, 2));
  console.log(`rows written to ${parsed.json}`);
}
if (rows.some((r) => r.leakCheck && r.leakCheck.after !== r.leakCheck.before)) process.exitCode = 1;
