/**
 * What `pnpm bench` measures: the shared batch shape, the teacher → student pairs (the same
 * shapes bench/torch_step.py builds), and the row every measurement produces.
 */

/** `[layers, hidden, heads]`, as torch_step.py's spec takes it; FFN width is 4·hidden. */
export type Arch = readonly [layers: number, hidden: number, heads: number];

/** The timed phases of a row; the sweep and DistilBERT rows time only the full step. */
export const PHASES = ['teacherForward', 'studentStep', 'distillStep'] as const;
export type Phase = (typeof PHASES)[number];

export interface Pair {
  name: string;
  teacher: Arch;
  student: Arch;
  /** Sequence length (default SEQ). */
  seq?: number;
  /** Phases this row times (default all). */
  phases?: readonly Phase[];
  /** Repetitions when --reps is not given, for the rows too heavy for the backend's default. */
  reps?: number;
}

const BASE_TEACHER: Arch = [6, 768, 12];
const BASE_STUDENT: Arch = [2, 384, 6];
const DISTILL_ONLY: readonly Phase[] = ['distillStep'];

/** The base pair at other sequence lengths: how the step grows once attention's S² terms matter. */
const SEQ_SWEEP = [64, 256, 512].map((seq): Pair => ({ name: `base-s${seq}`, teacher: BASE_TEACHER, student: BASE_STUDENT, seq, phases: DISTILL_ONLY, reps: 3 }));

/**
 * For a GPU emulated on the CPU (webgpu on SwiftShader, as in CI), where the small pair takes
 * minutes a step: only that case runs it by default.
 */
export const TINY_PAIR = 'tiny';

export const PAIRS: readonly Pair[] = [
  { name: TINY_PAIR, teacher: [2, 64, 2], student: [1, 32, 2], seq: 32 },
  { name: 'small', teacher: [4, 256, 4], student: [2, 128, 2] },
  { name: 'mid', teacher: [4, 512, 8], student: [4, 256, 4] },
  { name: 'base', teacher: BASE_TEACHER, student: BASE_STUDENT },
  ...SEQ_SWEEP,
  // DistilBERT's own setting: BERT-base teacher, every other layer kept, same width (no projection).
  { name: 'distilbert', teacher: [12, 768, 12], student: [6, 768, 12], phases: DISTILL_ONLY, reps: 3 },
];

export const pairSeq = (pair: Pair): number => pair.seq ?? SEQ;

/** BERT-base as a student: the acceptance check that a 12-layer, 768-wide model trains here. */
export const BERT_BASE: Arch = [12, 768, 12];

export const BATCH = 16;
export const SEQ = 128;
export const VOCAB = 30522;

export const BACKENDS = ['webgpu', 'native', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Where a step's kernel time goes (bench/lib/categories.ts sorts kernels into these). */
export const CATEGORIES = ['GEMM', 'attention', 'softmax', 'LayerNorm', 'GELU', 'elementwise', 'optimizer', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

/** One (pair, backend) measurement; every ms is a median over `reps` after one warm-up. */
export interface Row {
  pair: string;
  backend: Backend | 'pytorch';
  seq: number;
  teacherForwardMs: number;
  studentStepMs: number;
  distillStepMs: number;
  /** B·S / distill step. */
  tokensPerSecond: number;
  /** Matmul GFLOP of one distill step, counted from the model dims (bench/lib/flops.ts). */
  distillGflop: number;
  /** distillGflop / distill step. */
  gflops: number;
  /** gflops / the sgemm peak the bench measured, when it did. */
  peakFraction?: number;
  /** Process peak resident set (the worker, or PyTorch's process, runs only this row). */
  peakRssMiB?: number;
  /** ms per category over one profiled distill step (tf.profile kernel times). */
  profile?: Record<Category, number>;
  /** tf.memory().numBytes at the end of the distill step's backward pass (weights, moments, activations, grads). */
  tfPeakMiB?: number;
  /** tf.memory().numBytes between steps (weights and Adam moments). */
  tfRestingMiB?: number;
  reps: number;
  /** ours / PyTorch per phase, when the twin ran (NaN → null for a phase the row does not time). */
  ratio?: { teacherForward: number; studentStep: number; distillStep: number; peakRss?: number };
  /** numTensors after step 1 and after the last of `steps` extra distill steps. */
  leakCheck?: { steps: number; before: number; after: number };
  /** The GPU adapter (webgpu rows); `software`: an emulation on the CPU, so the row is no GPU number. */
  adapter?: { description: string; software: boolean };
  note?: string;
}
