/**
 * One bench measurement in its own process, so peak RSS (and the wasm heap, which never
 * shrinks) belongs to that row alone. Run by distill-bench.ts; prints `@@row <json>` on stdout.
 *
 *   tsx --conditions=distillery-source bench/lib/worker.ts '{"backend":"wasm","pair":"small","reps":3,"leakSteps":0}'
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { BertForSequenceClassification } from '@distillery/models';
import { describeAdapter, initBackend } from '@distillery/backends';
import { profileCategories } from './categories.js';
import { distillStepFlops } from './flops.js';
import { bertConfig, DistillRig, randomBatch, StudentTrainer } from './rig.js';
import { BATCH, BERT_BASE, PAIRS, pairSeq, SEQ, type Phase, type Row } from './spec.js';
import { ROW_MARKER, type WorkerJob } from './worker-job.js';

const MIB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median ms of `fn` over `reps` calls after one warm-up (the first call also creates Adam moments). */
async function medianMs(fn: () => Promise<unknown>, reps: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const peakRssMiB = () => (process.resourceUsage().maxRSS * 1024) / MIB; // maxRSS is in KiB

async function runPair(job: WorkerJob): Promise<Row> {
  const pair = PAIRS.find((p) => p.name === job.pair)!;
  const seq = pairSeq(pair);
  const rig = new DistillRig(pair.teacher, pair.student, seq);
  const timed = async (phase: Phase, fn: () => Promise<unknown>) => (!pair.phases || pair.phases.includes(phase) ? medianMs(fn, job.reps) : NaN);
  const teacherForwardMs = await timed('teacherForward', () => rig.teacherForward());
  const studentStepMs = await timed('studentStep', () => rig.studentStep());
  const distillStepMs = await timed('distillStep', () => rig.distillStep());
  const tfRestingMiB = tf.memory().numBytes / MIB;
  const rss = peakRssMiB(); // before the profiled step, whose bookkeeping is not the row's
  const profile = await profileCategories(() => rig.distillStep());
  let leakCheck: Row['leakCheck'];
  if (job.leakSteps > 0) {
    const before = tf.memory().numTensors;
    for (let i = 0; i < job.leakSteps; i++) await rig.distillStep();
    leakCheck = { steps: job.leakSteps, before, after: tf.memory().numTensors };
  }
  const distillGflop = distillStepFlops(pair) / 1e9;
  const row: Row = {
    pair: pair.name, backend: job.backend, seq, teacherForwardMs, studentStepMs, distillStepMs,
    tokensPerSecond: (BATCH * seq * 1000) / distillStepMs, distillGflop, gflops: (distillGflop * 1000) / distillStepMs,
    peakRssMiB: rss, profile, tfPeakMiB: rig.distillPeakBytes / MIB, tfRestingMiB, reps: job.reps, ...(leakCheck ? { leakCheck } : {}),
  };
  rig.dispose();
  return row;
}

/** A 12-layer, 768-wide student: `reps` forward+backward+AdamW steps on one batch, each logged. */
async function runBertBase(job: WorkerJob): Promise<Row> {
  const model = new BertForSequenceClassification(bertConfig(BERT_BASE), 3);
  const batch = randomBatch();
  const trainer = new StudentTrainer(model.namedParameters());
  const times: number[] = [];
  for (let i = 0; i <= job.reps; i++) {
    const t0 = performance.now();
    const loss = await trainer.step(() => model.forward(batch, { training: true }).loss!);
    times.push(performance.now() - t0);
    console.log(`bert-base ${job.backend} step ${i}: loss ${loss.toFixed(4)}, ${times.at(-1)!.toFixed(0)} ms, peak RSS ${peakRssMiB().toFixed(0)} MiB`);
  }
  const stepMs = median(times.slice(1)); // step 0 also allocates the Adam moments
  return {
    pair: 'bert-base', backend: job.backend, seq: SEQ, teacherForwardMs: NaN, studentStepMs: stepMs, distillStepMs: NaN,
    tokensPerSecond: (BATCH * SEQ * 1000) / stepMs, distillGflop: NaN, gflops: NaN, peakRssMiB: peakRssMiB(), tfPeakMiB: trainer.peakBytes / MIB,
    tfRestingMiB: tf.memory().numBytes / MIB, reps: job.reps,
  };
}

const job = JSON.parse(process.argv[2] ?? '{}') as WorkerJob;
const info = await initBackend({ backend: job.backend, log: false });
const row = job.pair === 'bert-base' ? await runBertBase(job) : await runPair(job);
if (info.adapter) row.adapter = { description: describeAdapter(info.adapter), software: info.adapter.software };
console.log(ROW_MARKER + JSON.stringify(row));
