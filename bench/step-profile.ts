/**
 * Kernel profile of one fwd+bwd step of a BERT-base-sized encoder block on the wasm backend, with the
 * stock kernels and with installWasmKernelFixes: CPU seconds per step and the top kernels by time.
 * Plain tf ops stand in for the model (matMuls, softmax attention, erf-GELU, layer-norm reductions).
 *
 *   pnpm exec tsx --conditions=distillery-source bench/step-profile.ts
 *
 * Kernel times come from tf.profile (wall clock); the per-step figure is process CPU time, which a
 * shared machine does not skew. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, installWasmKernelFixes, uninstallWasmKernelFixes } from '@distillery/backends';

const [B, S, H, HEADS, FF] = [4, 128, 768, 12, 3072];
const D = H / HEADS;

const param = (shape: number[]) => tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', 7));
const p = {
  wq: param([H, H]), bq: param([H]), wk: param([H, H]), bk: param([H]), wv: param([H, H]), bv: param([H]),
  wo: param([H, H]), bo: param([H]), w1: param([H, FF]), b1: param([FF]), w2: param([FF, H]), b2: param([H]),
  g1: param([H]), e1: param([H]), g2: param([H]), e2: param([H]),
  input: param([B, S, H]), // stands in for the embedding output (stock wasm has no gather gradient)
};
const padding = tf.ones([B, 1, 1, S]); // [B, 1, 1, S] 1 = token

/** x [B, S, in] · w [in, out] + b, as a 2-D product (tfjs' matMul gradient does not reduce broadcast batches). */
function linear(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.matMul(x.reshape([B * S, -1]), w).add(b).reshape([B, S, -1]);
}

function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).mul(tf.rsqrt(variance.add(1e-12))).mul(gamma).add(beta);
}

const splitHeads = (x: tf.Tensor) => x.reshape([B, S, HEADS, D]).transpose([0, 2, 1, 3]); // [B, heads, S, D]

function block(): tf.Scalar {
  const x = p.input;
  const [q, k, v] = [splitHeads(linear(x, p.wq, p.bq)), splitHeads(linear(x, p.wk, p.bk)), splitHeads(linear(x, p.wv, p.bv))];
  const scores = tf.matMul(q, k, false, true).div(Math.sqrt(D)).add(tf.sub(1, padding).mul(-1e9)); // [B, heads, S, S]
  const context = tf.matMul(tf.softmax(scores), v).transpose([0, 2, 1, 3]).reshape([B, S, H]);
  const h1 = layerNorm(x.add(linear(context, p.wo, p.bo)), p.g1, p.e1);
  const inner = linear(h1, p.w1, p.b1); // [B, S, FF]
  const gelu = inner.mul(0.5).mul(tf.erf(inner.div(Math.SQRT2)).add(1));
  const h2 = layerNorm(h1.add(linear(gelu, p.w2, p.b2)), p.g2, p.e2);
  return h2.square().mean() as tf.Scalar;
}

const step = () => tf.tidy(() => tf.variableGrads(block).value);

await initBackend({ backend: 'wasm' });
for (const fixed of [false, true]) {
  if (fixed) installWasmKernelFixes();
  else uninstallWasmKernelFixes();
  step().dispose(); // warm-up: XNNPACK operators, heap growth
  const start = process.cpuUsage();
  step().dispose();
  const used = process.cpuUsage(start);
  const profile = await tf.profile(() => step());
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.calls++;
    byKernel.set(k.name, entry);
  }
  const total = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
  console.log(`\nwasm ${fixed ? 'fixed' : 'stock'}: ${((used.user + used.system) / 1e6).toFixed(2)} CPU s/step; profiled kernels ${total.toFixed(0)} ms over ${profile.kernels.length} calls`);
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)) {
    console.log(`  ${name.padEnd(20)} ${e.ms.toFixed(1).padStart(9)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ×${e.calls}`);
  }
}
