/**
 * 'DistilleryAttentionMatMul' (native backend only): the batched products of attention over
 * (batch, head) pairs, where an operand or the output may be a `[B·S, H]` activation read or
 * written in place as its heads `[B, heads, S, H/heads]` (row stride H), and the others are
 * packed `[B, heads, rows, cols]`. Scores Q·Kᵀ, context P·V and all four of their gradients are
 * this one kernel, so attention runs no head-split or head-merge transposes in either direction.
 * @distillery/models calls it by name when the backend has it (see fused.ts for the contract).
 */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernelArgs } from './kernel-util.js';

export const ATTENTION_MATMUL = 'DistilleryAttentionMatMul';

export interface AttentionMatMulAttrs {
  heads: number;
  /** S: rows of one sequence in a `[B·S, H]` operand. */
  seq: number;
  transposeA: boolean;
  transposeB: boolean;
  /** Which of a, b and the output are `[B·S, H]` activations (else packed `[B, heads, rows, cols]`). */
  aHeads: boolean;
  bHeads: boolean;
  outHeads: boolean;
}

/** One operand's per-(batch, head) matrices: stored rows × cols, row stride, element offsets. */
interface Layout {
  rows: number;
  cols: number;
  ld: number;
  offsets: Float64Array;
}

function headsLayout(batch: number, heads: number, seq: number, hidden: number): Layout {
  const hd = hidden / heads;
  const offsets = new Float64Array(batch * heads);
  for (let b = 0; b < batch; b++) for (let h = 0; h < heads; h++) offsets[b * heads + h] = b * seq * hidden + h * hd;
  return { rows: seq, cols: hd, ld: hidden, offsets };
}

function packedLayout(count: number, rows: number, cols: number): Layout {
  return { rows, cols, ld: cols, offsets: Float64Array.from({ length: count }, (_, i) => i * rows * cols) };
}

function fail(why: string): never {
  throw new Error(`${ATTENTION_MATMUL}: ${why}`);
}

/** Batch size, and the layout of operand `t`, which must agree with `batch` and `heads` when given. */
function layoutOf(name: string, t: tf.TensorInfo, isHeads: boolean, attrs: AttentionMatMulAttrs): { batch: number; layout: Layout } {
  const { heads, seq } = attrs;
  if (isHeads) {
    const [tokens, hidden] = t.shape;
    if (t.shape.length !== 2 || tokens! % seq !== 0 || hidden! % heads !== 0) fail(`${name} [${t.shape}] must be [B·${seq}, H] with H divisible by ${heads} heads`);
    return { batch: tokens! / seq, layout: headsLayout(tokens! / seq, heads, seq, hidden!) };
  }
  const [batch, h, rows, cols] = t.shape;
  if (t.shape.length !== 4 || h !== heads) fail(`${name} [${t.shape}] must be [B, ${heads}, rows, cols]`);
  return { batch: batch!, layout: packedLayout(batch! * heads, rows!, cols!) };
}

export function attentionMatMulKernel(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo {
  const at = attrs as unknown as AttentionMatMulAttrs;
  const av = f32(backend, inputs.a);
  const bv = f32(backend, inputs.b);
  if (!av || !bv) fail(`a and b must be float32 (got ${inputs.a?.dtype}, ${inputs.b?.dtype})`);
  const a = layoutOf('a', inputs.a!, at.aHeads, at);
  const b = layoutOf('b', inputs.b!, at.bHeads, at);
  if (a.batch !== b.batch) fail(`a holds ${a.batch} sequences, b ${b.batch}`);
  const m = at.transposeA ? a.layout.cols : a.layout.rows;
  const k = at.transposeA ? a.layout.rows : a.layout.cols;
  const kb = at.transposeB ? b.layout.cols : b.layout.rows;
  const n = at.transposeB ? b.layout.rows : b.layout.cols;
  if (k !== kb) fail(`inner dimensions differ (${k} vs ${kb})`);
  const batch = a.batch;
  let out: Layout;
  let shape: number[];
  if (at.outHeads) {
    if (m !== at.seq) fail(`a [B·S, H] output needs ${at.seq} rows per head, the product has ${m}`);
    shape = [batch * at.seq, n * at.heads];
    out = headsLayout(batch, at.heads, at.seq, n * at.heads);
  } else {
    shape = [batch, at.heads, m, n];
    out = packedLayout(batch * at.heads, m, n);
  }
  // The heads tile the output, so sgemm writes every element, except for k = 0 (a product of zeros).
  const values = k === 0 ? new Float32Array(tf.util.sizeFromShape(shape)) : outputF32(backend, tf.util.sizeFromShape(shape));
  addon.gemmStrided(av, a.layout.offsets, a.layout.ld, bv, b.layout.offsets, b.layout.ld, values, out.offsets, out.ld, m, n, k, at.transposeA, at.transposeB);
  return backend.makeTensorInfo(shape, 'float32', values);
}
