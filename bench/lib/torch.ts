/**
 * The PyTorch twin (bench/torch_step.py) run from the bench: same batch, pairs and losses,
 * 2 threads, one process per pair (so its peak RSS is that pair's). Skipped with a reason when
 * Debian's python3-torch is not importable.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { distillStepFlops } from './flops.js';
import { BATCH, PHASES, pairSeq, type Pair, type Row } from './spec.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../torch_step.py', import.meta.url));

interface TorchLine {
  pair: string;
  teacher_forward_ms: number | null;
  student_step_ms: number | null;
  distill_step_ms: number | null;
  peak_rss_mib: number;
  threads: number;
  torch: string;
}

/** Why torch cannot run here, or undefined when it can. */
export function torchMissing(): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not found (${probe.error.message})`;
  if (probe.status !== 0) return `${PYTHON} cannot import torch (apt-get install python3-torch libopenblas0-pthread)`;
  return undefined;
}

/**
 * The BLAS torch actually loaded: Debian's build says BLAS_INFO=generic and takes whatever
 * libblas.so.3 the alternatives point at; the reference BLAS there would make the comparison flatter us.
 */
export function torchBlas(): string {
  const code = "import torch; torch.ones(2) @ torch.ones(2); print(' '.join(sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l})))";
  const libs = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8' }).stdout?.trim() ?? '';
  return /openblas/.test(libs) ? 'OpenBLAS' : `reference BLAS (${libs || 'unknown'}); install libopenblas0-pthread`;
}

/** One pair in its own python process; `reps` as the native row's. */
function runTorchPair(pair: Pair, reps: number): TorchLine {
  const seq = pairSeq(pair);
  const spec = { batch: BATCH, reps, pairs: [{ name: pair.name, teacher: pair.teacher, student: pair.student, seq, phases: pair.phases ?? PHASES }] };
  const r = spawnSync(PYTHON, [SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch_step.py (${pair.name}) exited with ${r.status ?? r.signal}`);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`torch_step.py (${pair.name}) printed no result`);
  return JSON.parse(line) as TorchLine;
}

export function runTorch(pairs: readonly Pair[], repsOf: (pair: Pair) => number, log: (row: Row) => void): { rows: Row[]; version?: string } {
  const rows: Row[] = [];
  let version: string | undefined;
  for (const pair of pairs) {
    const reps = repsOf(pair);
    const l = runTorchPair(pair, reps);
    version = l.torch;
    const seq = pairSeq(pair);
    const distillGflop = distillStepFlops(pair) / 1e9;
    const ms = (x: number | null) => x ?? NaN;
    const row: Row = {
      pair: l.pair, backend: 'pytorch', seq, teacherForwardMs: ms(l.teacher_forward_ms), studentStepMs: ms(l.student_step_ms), distillStepMs: ms(l.distill_step_ms),
      tokensPerSecond: (BATCH * seq * 1000) / ms(l.distill_step_ms), distillGflop, gflops: (distillGflop * 1000) / ms(l.distill_step_ms),
      peakRssMiB: l.peak_rss_mib, reps, note: `torch ${l.torch}, ${l.threads} threads`,
    };
    log(row);
    rows.push(row);
  }
  return { rows, ...(version ? { version } : {}) };
}
