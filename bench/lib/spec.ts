/**
 * What `pnpm bench` measures: the shared batch shape, the teacher → student pairs (the same
 * shapes bench/torch_step.py builds), and the row every measurement produces.
 */

/** `[layers, hidden, heads]`, as torch_step.py's spec takes it; FFN width is 4·hidden. */
export type Arch = readonly [layers: number, hidden: number, heads: number];

export interface Pair {
  name: string;
  teacher: Arch;
  student: Arch;
}

export const PAIRS: readonly Pair[] = [
  { name: 'small', teacher: [4, 256, 4], student: [2, 128, 2] },
  { name: 'mid', teacher: [4, 512, 8], student: [4, 256, 4] },
  { name: 'base', teacher: [6, 768, 12], student: [2, 384, 6] },
];

/** BERT-base as a student: the acceptance check that a 12-layer, 768-wide model trains here. */
export const BERT_BASE: Arch = [12, 768, 12];

export const BATCH = 16;
export const SEQ = 128;
export const VOCAB = 30522;

export const BACKENDS = ['native', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];

/** One (pair, backend) measurement; every ms is a median over `reps` after one warm-up. */
export interface Row {
  pair: string;
  backend: Backend | 'pytorch';
  teacherForwardMs: number;
  studentStepMs: number;
  distillStepMs: number;
  /** B·S / distill step. */
  tokensPerSecond: number;
  /** Process peak resident set (the worker runs only this row). */
  peakRssMiB?: number;
  /** tf.memory().numBytes at the end of the distill step's backward pass (weights, moments, activations, grads). */
  tfPeakMiB?: number;
  /** tf.memory().numBytes between steps (weights and Adam moments). */
  tfRestingMiB?: number;
  reps: number;
  /** ours / PyTorch per phase, when the twin ran. */
  ratio?: { teacherForward: number; studentStep: number; distillStep: number };
  /** numTensors after step 1 and after the last of `steps` extra distill steps. */
  leakCheck?: { steps: number; before: number; after: number };
  note?: string;
}
