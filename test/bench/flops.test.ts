/**
 * The bench's FLOP count (bench/lib/flops.ts) against the matmuls a real distillation step runs:
 * tf.profile records every product's output shape and operands, so their 2·m·n·k sum must equal
 * the count made from the model dimensions. Also the profile's categories for those kernels.
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { categoryOf } from '../../bench/lib/categories.js';
import { distillStepFlops } from '../../bench/lib/flops.js';
import { DistillRig } from '../../bench/lib/rig.js';
import { BATCH, type Pair } from '../../bench/lib/spec.js';

/** 2·(output elements)·k of a profiled product; k is the operand dim shared by a's last two that is not m. */
function productFlops(k: { name: string; inputShapes: Array<number[] | undefined>; outputShapes: Array<number[] | undefined> }): number {
  const a = k.inputShapes[0]!;
  const out = k.outputShapes[0]!;
  const m = out.at(-2)!;
  const inner = (a.at(-1)! * a.at(-2)!) / m;
  return 2 * out.reduce((p, d) => p * d, 1) * inner;
}

describe('bench FLOP count', () => {
  it.each<Pair>([
    { name: 'projected', teacher: [2, 32, 4], student: [1, 16, 2], seq: 8 },
    { name: 'same-width', teacher: [2, 16, 2], student: [1, 16, 2], seq: 12 },
  ])('equals the matmul work of one profiled distill step on cpu ($name)', async (pair) => {
    await tf.setBackend('cpu');
    const rig = new DistillRig(pair.teacher, pair.student, pair.seq);
    await rig.distillStep(); // Adam moments exist from here on
    const info = await tf.profile(async () => void (await rig.distillStep()));
    const products = info.kernels.filter((k) => k.name === '_FusedMatMul' || k.name === 'BatchMatMul');
    const counted = products.reduce((sum, k) => sum + productFlops(k), 0);
    expect(counted).toBe(distillStepFlops(pair, BATCH));
    // Linears are 2-D products (GEMM); scores and context batch over (batch, heads) (attention).
    const categories = new Set(products.map((k) => categoryOf(k.name, k.inputShapes)));
    expect([...categories].sort()).toEqual(['GEMM', 'attention']);
    rig.dispose();
  });
});
