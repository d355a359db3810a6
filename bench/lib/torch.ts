/**
 * The PyTorch twin (bench/torch_step.py) run from the bench: same batch, pairs and losses,
 * 2 threads. Skipped with a reason when Debian's python3-torch is not importable.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BATCH, SEQ, type Pair, type Row } from './spec.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../torch_step.py', import.meta.url));

interface TorchLine {
  pair: string;
  teacher_forward_ms: number;
  student_step_ms: number;
  distill_step_ms: number;
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

export function runTorch(pairs: readonly Pair[], reps: number): { rows: Row[]; version?: string } {
  const spec = { batch: BATCH, seq: SEQ, reps, pairs: pairs.map((p) => ({ name: p.name, teacher: p.teacher, student: p.student })) };
  const r = spawnSync(PYTHON, [SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torch_step.py exited with ${r.status ?? r.signal}`);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TorchLine);
  const rows = lines.map((l): Row => ({
    pair: l.pair, backend: 'pytorch', teacherForwardMs: l.teacher_forward_ms, studentStepMs: l.student_step_ms, distillStepMs: l.distill_step_ms,
    tokensPerSecond: (BATCH * SEQ * 1000) / l.distill_step_ms, reps, note: `torch ${l.torch}, ${l.threads} threads`,
  }));
  return { rows, version: lines[0]?.torch };
}
