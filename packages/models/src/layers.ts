/**
 * Small pure building blocks shared by every family: Linear, LayerNorm, activations, seeded
 * dropout, embedding lookup. Weights keep HF's layout; activations stay 2-D `[N, features]`
 * (N = B·S) so every Linear is one matMul.
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation } from './config.js';

/** `nn.Linear`: weight `[out, in]`, y = x @ Wᵀ + b. */
export interface Linear {
  weight: tf.Variable;
  bias?: tf.Variable;
}

/** `nn.LayerNorm` over the last axis. */
export interface LayerNorm {
  weight: tf.Variable;
  bias: tf.Variable;
  eps: number;
}

/** `nn.Embedding`; `paddingIdx` rows get no gradient through the lookup. */
export interface Embedding {
  weight: tf.Variable;
  paddingIdx: number | null;
}

export function linear(x: tf.Tensor2D, l: Linear): tf.Tensor2D {
  // [N, in] @ [out, in]ᵀ -> [N, out]; fused so the bias add costs no extra pass.
  return tf.fused.matMul({ a: x, b: l.weight as tf.Tensor2D, transposeB: true, bias: l.bias }) as tf.Tensor2D;
}

export function layerNorm<T extends tf.Tensor>(x: T, ln: LayerNorm): T {
  // Biased variance, as torch: (x - μ) / sqrt(var + eps) · γ + β.
  const centered = tf.sub(x, tf.mean(x, -1, true));
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, ln.eps))), ln.weight), ln.bias) as T;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** HF `ACT2FN[name]`. */
export function activation<T extends tf.Tensor>(name: Activation, x: T): T {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      // Exact erf GELU: 0.5·x·(1 + erf(x/√2)).
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T;
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast': {
      // tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI);
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1)) as T;
    }
    case 'quick_gelu':
      return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))) as T;
    case 'relu':
      return tf.relu(x);
    case 'silu':
    case 'swish':
      return tf.mul(x, tf.sigmoid(x)) as T;
    case 'tanh':
      return tf.tanh(x);
  }
}

/**
 * Per-forward state: whether dropout is on, and a seed stream so a training step is
 * reproducible. Call `i` of a step seeded `s` uses seed "s:i", so no two calls of any
 * two steps share a mask.
 */
export class ForwardContext {
  private calls = 0;
  constructor(
    readonly training: boolean,
    private readonly seed?: number,
  ) {}

  dropout<T extends tf.Tensor>(x: T, rate: number): T {
    if (!this.training || rate === 0) return x;
    const seed = this.seed === undefined ? undefined : `${this.seed}:${this.calls++}`;
    return tf.dropout(x, rate, undefined, seed) as T;
  }
}

/**
 * `table[ids]` with the gradient written as a row scatter-add, never a one-hot matmul:
 * O(N·E) instead of O(N·V·E), and it avoids UnsortedSegmentSum (missing on wasm).
 * Rows looked up at `paddingIdx` contribute no gradient, as nn.Embedding(padding_idx).
 */
export function embeddingLookup(emb: Embedding, ids: tf.Tensor1D): tf.Tensor2D {
  const lookup = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [table, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(table, ids), // [N, E]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const idx = saved[0] as tf.Tensor1D;
        const rows = emb.paddingIdx === null ? dy : tf.mul(dy, tf.expandDims(tf.cast(tf.notEqual(idx, emb.paddingIdx), 'float32'), 1));
        return tf.scatterND(tf.expandDims(idx, 1), rows, table.shape); // [V, E], duplicate ids summed
      },
    };
  });
  return lookup(emb.weight) as tf.Tensor2D;
}
