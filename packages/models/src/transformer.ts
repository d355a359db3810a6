/**
 * The post-LN transformer layer every family shares (BERT, RoBERTa, ELECTRA, ALBERT, DistilBERT
 * differ only in weight names and where dropout sits), and the loop that stacks layers and
 * collects hidden states / attentions as HF does.
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './config.js';
import { activation, ATTENTION_MATMUL, hasKernels, layerNorm, linear, runFused, softmax, type ForwardContext, type LayerNorm, type Linear } from './layers.js';

export interface TransformerLayerWeights {
  query: Linear;
  key: Linear;
  value: Linear;
  /** Attention output projection (BERT `attention.output.dense`). */
  attentionOutput: Linear;
  attentionLayerNorm: LayerNorm;
  /** FFN in (BERT `intermediate.dense`) and out (BERT `output.dense`). */
  ffnIn: Linear;
  ffnOut: Linear;
  outputLayerNorm: LayerNorm;
}

export interface EncoderSpec {
  numHeads: number;
  act: Activation;
  /** On attention probabilities. */
  attentionDropout: number;
  /** After the attention output projection (DistilBERT has none). */
  attentionOutputDropout: number;
  /** After the FFN output projection (ALBERT has none). */
  ffnDropout: number;
}

export interface OutputRequest {
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  outputAttentionScores?: boolean;
}

export interface EncoderOutput {
  lastHiddenState: tf.Tensor3D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
  attentionScores?: tf.Tensor4D[];
}

/** torch.finfo(torch.float32).min: HF's additive mask value. */
const FLOAT32_MIN = -3.4028234663852886e38;

/** `(1 - mask) · finfo32.min` as `[B, 1, 1, S]`, broadcast over heads and query rows. */
export function attentionMaskBias(mask: tf.Tensor2D): tf.Tensor4D {
  const [b, s] = mask.shape;
  return tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), FLOAT32_MIN), [b, 1, 1, s]);
}

interface LayerResult {
  hidden: tf.Tensor2D;
  probs: tf.Tensor4D;
  scores: tf.Tensor4D;
}

/** Split `[B·S, H]` into heads `[B, heads, S, hd]`, head as the slow axis of H (HF view+permute). */
function splitHeads(x: tf.Tensor2D, b: number, s: number, heads: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [b, s, heads, -1]), [0, 2, 1, 3]);
}

/** Scores Q·Kᵀ `[B, h, S, S]` from the `[B·S, H]` projections, and `context(P)` = P·V merged back to `[B·S, H]`. */
interface AttentionProducts {
  scores: tf.Tensor4D;
  context(probs: tf.Tensor4D): tf.Tensor2D;
}

/** With tfjs ops: heads split out by transposes (Kᵀ in one: a transposed batched matMul would transpose again on wasm). */
function composedProducts(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, b: number, s: number, heads: number): AttentionProducts {
  const kT = tf.transpose(tf.reshape(k, [b, s, heads, -1]), [0, 2, 3, 1]); // [B, h, hd, S]
  return {
    scores: tf.matMul(splitHeads(q, b, s, heads), kT) as tf.Tensor4D,
    context: (probs) => tf.reshape(tf.transpose(tf.matMul(probs, splitHeads(v, b, s, heads)), [0, 2, 1, 3]), [b * s, -1]) as tf.Tensor2D,
  };
}

/**
 * On a backend with ATTENTION_MATMUL: every product (and gradient) reads and writes the heads of
 * the `[B·S, H]` activations in place, so no transposes run in either direction.
 */
function headProducts(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, s: number, heads: number): AttentionProducts {
  type Layout = { transposeA?: boolean; transposeB?: boolean; aHeads?: boolean; bHeads?: boolean; outHeads?: boolean };
  const mm = (a: tf.Tensor, bt: tf.Tensor, o: Layout) =>
    runFused(ATTENTION_MATMUL, { a, b: bt }, { heads, seq: s, transposeA: false, transposeB: false, aHeads: false, bHeads: false, outHeads: false, ...o }) as tf.Tensor;
  const scores = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([qq, kk]);
    return {
      value: mm(qq, kk, { aHeads: true, bHeads: true, transposeB: true }), // [B, h, S, S]
      // dQ = dS·K, dK = dSᵀ·Q, each written into [B·S, H]
      gradFunc: (dy: tf.Tensor, [qs, ks]: tf.Tensor[]) => [mm(dy, ks!, { bHeads: true, outHeads: true }), mm(dy, qs!, { transposeA: true, bHeads: true, outHeads: true })],
    };
  });
  const context = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [p, vv, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([p, vv]);
    return {
      value: mm(p, vv, { bHeads: true, outHeads: true }), // [B·S, H]
      // dP = dC·Vᵀ [B, h, S, S], dV = Pᵀ·dC [B·S, H]
      gradFunc: (dy: tf.Tensor, [ps, vs]: tf.Tensor[]) => [mm(dy, vs!, { aHeads: true, bHeads: true, transposeB: true }), mm(ps!, dy, { transposeA: true, bHeads: true, outHeads: true })],
    };
  });
  return { scores: scores(q, k) as tf.Tensor4D, context: (probs) => context(probs, v) as tf.Tensor2D };
}

function transformerLayer(x: tf.Tensor2D, maskBias: tf.Tensor4D | undefined, w: TransformerLayerWeights, spec: EncoderSpec, ctx: ForwardContext, b: number, s: number): LayerResult {
  const hidden = x.shape[1];
  const heads = spec.numHeads;
  // 1/√hd folded into the query weights: the same product, scaling [H, H] instead of [B·S, H] both ways.
  const scale = 1 / Math.sqrt(hidden / heads);
  const query = { weight: tf.mul(w.query.weight, scale), ...(w.query.bias ? { bias: tf.mul(w.query.bias, scale) } : {}) };
  const [q, k, v] = [linear(x, query), linear(x, w.key), linear(x, w.value)]; // [B·S, H] each
  const { scores, context } = hasKernels(ATTENTION_MATMUL) ? headProducts(q, k, v, s, heads) : composedProducts(q, k, v, b, s, heads); // scores pre-mask
  const probs = softmax((maskBias ? tf.add(scores, maskBias) : scores) as tf.Tensor4D); // masked keys get exactly 0
  const merged = context(ctx.dropout(probs, spec.attentionDropout)); // [B·S, H]
  const attended = ctx.dropout(linear(merged, w.attentionOutput), spec.attentionOutputDropout);
  const a = layerNorm(tf.add(attended, x) as tf.Tensor2D, w.attentionLayerNorm); // [B·S, H]
  const ffn = ctx.dropout(linear(activation(spec.act, linear(a, w.ffnIn)), w.ffnOut), spec.ffnDropout);
  return { hidden: layerNorm(tf.add(ffn, a) as tf.Tensor2D, w.outputLayerNorm), probs, scores };
}

/**
 * Run the encoder on `x` `[B·S, H]`. `layers[i]` lists the layer(s) applied as layer `i`
 * (several only for ALBERT `inner_group_num > 1`); hidden states are taken after each outer
 * layer, attentions after each inner one, as HF's ALBERT does.
 */
export function runEncoder(x: tf.Tensor2D, mask: tf.Tensor2D, padded: boolean, layers: TransformerLayerWeights[][], spec: EncoderSpec, ctx: ForwardContext, want: OutputRequest): EncoderOutput {
  const [b, s] = mask.shape;
  // No padding in the batch: adding an all-zero bias to every [B, h, S, S] map would change nothing.
  const maskBias = padded ? attentionMaskBias(mask) : undefined;
  const as3d = (t: tf.Tensor2D): tf.Tensor3D => tf.reshape(t, [b, s, t.shape[1]]);
  const hiddenStates: tf.Tensor3D[] = [];
  const attentions: tf.Tensor4D[] = [];
  const attentionScores: tf.Tensor4D[] = [];
  let h = x;
  if (want.outputHiddenStates) hiddenStates.push(as3d(h));
  for (const group of layers) {
    for (const w of group) {
      const r = transformerLayer(h, maskBias, w, spec, ctx, b, s);
      h = r.hidden;
      if (want.outputAttentions) attentions.push(r.probs);
      if (want.outputAttentionScores) attentionScores.push(r.scores);
    }
    if (want.outputHiddenStates) hiddenStates.push(as3d(h));
  }
  return {
    lastHiddenState: as3d(h),
    ...(want.outputHiddenStates ? { hiddenStates } : {}),
    ...(want.outputAttentions ? { attentions } : {}),
    ...(want.outputAttentionScores ? { attentionScores } : {}),
  };
}
