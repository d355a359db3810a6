/**
 * The native backend's fused kernels (LayerNorm, erf-GELU, softmax gradient), reached through
 * @distillery/models' layerNorm / activation / softmax, against the unfused composition: the
 * plain tfjs ops with tfjs's own autodiff, on the cpu backend. Forward values and the gradients
 * of every input agree, and a profile shows the fused kernels really ran (and the composed ops did not).
 * Attention's in-place head products are checked through a whole BERT (padding mask included):
 * loss, attentions and every parameter's gradient, native against cpu's transposes and batched matMuls.
 */
import * as tf from '@tensorflow/tfjs';
import { activation, BertForSequenceClassification, createConfig, layerNorm, softmax, type LayerNorm } from '@distillery/models';
import { ATTENTION_MATMUL, FUSED_KERNELS, registerNativeBackend } from '@distillery/native';
import { afterAll, describe, expect, it } from 'vitest';

const registration = registerNativeBackend();

function values(size: number, seed: number, scale = 2): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (2 * (s / 2 ** 32) - 1);
  });
}
const tensor = (shape: number[], seed: number, scale?: number) => tf.tensor(values(shape.reduce((p, d) => p * d, 1), seed, scale), shape);

/** f's value and d(Σ f·w)/d(inputs) on `backend`, with a fixed random w so dy is not all ones. */
async function valueAndGrads(backend: string, shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = shapes.map((shape, i) => tensor(shape, 11 + 7 * i));
    const y = f(...xs);
    const w = tensor(y.shape, 99);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), w)))(xs);
    return { value: Array.from(y.dataSync()), grads: grads.map((g) => Array.from(g.dataSync())) };
  });
}

/** |got − want| ≤ tol · max(|want|, floor): relative to the array's own scale, above `floor`. */
function expectClose(got: number[], want: number[], tol: number, what: string, floor = 1) {
  expect(got.length, what).toBe(want.length);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), floor);
  const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i]!)), 0);
  expect(worst, `${what}: worst |native − composed| vs scale ${scale}`).toBeLessThanOrEqual(tol * scale);
}

/** Fused on native vs composed on cpu, forward and every gradient; and which kernels ran on native. */
async function expectParity(shapes: number[][], fused: (...xs: tf.Tensor[]) => tf.Tensor, composed: (...xs: tf.Tensor[]) => tf.Tensor, kernels: string[], tol = 2e-5) {
  const want = await valueAndGrads('cpu', shapes, composed);
  const got = await valueAndGrads('native', shapes, fused);
  expectClose(got.value, want.value, tol, 'forward');
  got.grads.forEach((g, i) => expectClose(g, want.grads[i]!, tol, `gradient of input ${i}`));
  const ran = new Set((await tf.profile(() => tf.tidy(() => {
    const xs = shapes.map((shape, i) => tensor(shape, 11 + 7 * i));
    tf.grads((...args: tf.Tensor[]) => tf.sum(fused(...args)))(xs);
  }))).kernels.map((k) => k.name));
  for (const k of kernels) expect(ran, `kernel ${k} ran`).toContain(k);
  return ran;
}

describe.skipIf(!registration.ok)('native fused kernels equal the unfused composition (forward and gradient)', () => {
  afterAll(() => tf.setBackend('cpu'));

  /** models' layerNorm (fused on native) and its textbook composition, for one eps. */
  const layerNorms = (eps: number) => ({
    fused: (x?: tf.Tensor, gamma?: tf.Tensor, beta?: tf.Tensor) => layerNorm(x!, { weight: gamma as tf.Variable, bias: beta as tf.Variable, eps } satisfies LayerNorm),
    composed: (x?: tf.Tensor, gamma?: tf.Tensor, beta?: tf.Tensor) => {
      const { mean, variance } = tf.moments(x!, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x!, mean), tf.sqrt(tf.add(variance, eps))), gamma!), beta!);
    },
  });

  it('LayerNorm: x, γ and β gradients', async () => {
    const { fused, composed } = layerNorms(1e-12);
    // 70 rows: more than one 32-row block of the parameter-gradient partial sums, and a ragged last one.
    const ran = await expectParity([[70, 48], [48], [48]], fused, composed, [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad]);
    expect(ran.has('Mean')).toBe(false);
  });

  it('LayerNorm on a 3-D input', async () => {
    const { fused, composed } = layerNorms(1e-5);
    await expectParity([[3, 5, 16], [16], [16]], fused, composed, [FUSED_KERNELS.layerNorm]);
  });

  it('erf-GELU', async () => {
    const composed = (x: tf.Tensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
    const ran = await expectParity([[33, 40]], (x) => activation('gelu', x!), composed, [FUSED_KERNELS.gelu, FUSED_KERNELS.geluGrad]);
    expect(ran.has('Erf')).toBe(false);
  });

  it('softmax gradient, with masked (finfo.min) keys', async () => {
    const mask = tf.tensor(Float32Array.from({ length: 10 }, (_, j) => (j >= 7 ? -3.4028234663852886e38 : 0)), [10]);
    const masked = (f: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => f(tf.add(x, mask));
    await expectParity([[2, 3, 10, 10]], masked((x) => softmax(x)), masked((x) => tf.softmax(x)), [FUSED_KERNELS.softmaxGrad]);
    mask.dispose();
  });

  it('attention head products in place: loss, attentions and all gradients of a BERT', async () => {
    const config = createConfig('bert', { vocabSize: 50, hiddenSize: 24, numHiddenLayers: 2, numAttentionHeads: 3, intermediateSize: 48, maxPositionEmbeddings: 16, numLabels: 2, hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 });
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const model = new BertForSequenceClassification(config, 5);
      const batch = {
        inputIds: tf.tensor2d([[2, 7, 9, 11, 3, 0], [2, 5, 6, 3, 0, 0]], [2, 6], 'int32'),
        attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], [2, 6], 'int32'),
        labels: tf.tensor1d([1, 0], 'int32'),
      };
      const params = [...model.namedParameters().values()];
      const forward = () => model.forward(batch, { training: true, outputAttentions: true });
      const result = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => forward().loss!, params);
        return { loss: value.dataSync()[0]!, attentions: forward().attentions!.map((t) => Array.from(t.dataSync())), grads: params.map((p) => Array.from(grads[p.name]!.dataSync())) };
      });
      const kernels = new Set((await tf.profile(() => void tf.tidy(() => tf.variableGrads(() => forward().loss!, params)))).kernels.map((k) => k.name));
      model.dispose();
      tf.dispose(batch as unknown as tf.TensorContainer);
      return { ...result, kernels };
    };
    const want = await run('cpu');
    const got = await run('native');
    expect(got.loss).toBeCloseTo(want.loss, 5);
    got.attentions.forEach((a, i) => expectClose(a, want.attentions[i]!, 2e-5, `attentions[${i}]`));
    // Gradients are ~1e-4..1e-6 at init (the key bias's is exactly 0 up to rounding): relative, with a small floor.
    got.grads.forEach((g, i) => expectClose(g, want.grads[i]!, 1e-3, `gradient of parameter ${i}`, 1e-6));
    expect(got.kernels).toContain(ATTENTION_MATMUL);
    expect(got.kernels.has('Transpose')).toBe(false);
    expect(want.kernels.has('Transpose')).toBe(true);
  });

  it('refuses inputs of the wrong shape with a line naming the kernel', async () => {
    await tf.setBackend('native');
    const x = tf.ones([4, 8]);
    const gamma = tf.ones([6]);
    expect(() => tf.engine().runKernel(FUSED_KERNELS.layerNorm, { x, gamma, beta: gamma }, { eps: 1e-5 })).toThrow(/DistilleryLayerNorm: gamma \[6\] must be \[8\]/);
    expect(() => tf.engine().runKernel(FUSED_KERNELS.geluGrad, { dy: x, x: gamma })).toThrow(/DistilleryGeluGrad: dy, x must share one shape/);
    const attrs = { heads: 3, seq: 2, transposeA: false, transposeB: true, aHeads: true, bHeads: true, outHeads: false };
    expect(() => tf.engine().runKernel(ATTENTION_MATMUL, { a: x, b: x }, attrs)).toThrow(/DistilleryAttentionMatMul: a \[4,8\] must be \[B·2, H\] with H divisible by 3 heads/);
    tf.dispose([x, gamma]);
  });
});
