/**
 * Matmul FLOPs of the bench's steps, counted from the model dimensions: 2·m·n·k per product,
 * the backward pass twice the forward (one product for the input gradient, one for the
 * weight's). Elementwise work, reductions and the embedding gather count nothing, so
 * GFLOP/s over these is the usual "model FLOPs utilisation" yardstick, comparable with sgemm's.
 */
import { BATCH, pairSeq, type Arch, type Pair } from './spec.js';

const LABELS = 2;

/** One encoder forward (layers, pooler, classifier) over `batch` × `seq` tokens; FFN width 4·H. */
export function forwardFlops([layers, hidden]: Arch, batch: number, seq: number): number {
  const tokens = batch * seq;
  // Q, K, V, output projections (4·H²) and the FFN (2·4·H²) per token; scores QKᵀ and context P·V per head.
  const perLayer = 2 * tokens * 12 * hidden * hidden + 2 * 2 * batch * seq * seq * hidden;
  return layers * perLayer + 2 * batch * hidden * hidden + 2 * batch * hidden * LABELS;
}

/**
 * One distillation step: teacher forward only, student forward + backward, and the hidden-state
 * projection (student width → teacher width, on each of the student's layers + 1 hidden states)
 * when the widths differ, as HiddenStatePlugin and torch_step.py only project then.
 */
export function distillStepFlops(pair: Pair, batch = BATCH): number {
  const seq = pairSeq(pair);
  const [studentLayers, studentHidden] = pair.student;
  const teacherHidden = pair.teacher[1];
  const projection = studentHidden === teacherHidden ? 0 : (studentLayers + 1) * 2 * batch * seq * studentHidden * teacherHidden;
  return forwardFlops(pair.teacher, batch, seq) + 3 * (forwardFlops(pair.student, batch, seq) + projection);
}
