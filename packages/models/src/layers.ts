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

/** `x @ Wᵀ + b`; takes any weight tensors, so a caller can pass a rescaled view of a Linear. */
export function linear(x: tf.Tensor2D, l: { weight: tf.Tensor; bias?: tf.Tensor }): tf.Tensor2D {
  // [N, in] @ [out, in]ᵀ -> [N, out]; fused so the bias add costs no extra pass.
  return tf.fused.matMul({ a: x, b: l.weight as tf.Tensor2D, transposeB: true, bias: l.bias }) as tf.Tensor2D;
}

/**
 * Fused kernels a backend may register under these names (today @distillery/native, whose
 * FUSED_KERNELS lists the same names: the name is the contract). Where the active backend lacks
 * them, the ops below compose the same maths from tfjs ops, so every backend computes one model.
 */
const FUSED = { layerNorm: 'DistilleryLayerNorm', layerNormGrad: 'DistilleryLayerNormGrad', gelu: 'DistilleryGelu', geluGrad: 'DistilleryGeluGrad', softmaxGrad: 'DistillerySoftmaxGrad' } as const;
/** Attention's per-head products on `[B·S, H]` activations in place (transformer.ts; @distillery/native's ATTENTION_MATMUL). */
export const ATTENTION_MATMUL = 'DistilleryAttentionMatMul';
export const hasKernels = (...names: string[]) => names.every((name) => tf.getKernel(name, tf.getBackend()) !== undefined);
export const runFused = (name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}) => tf.engine().runKernel(name, inputs, attrs) as unknown as tf.Tensor | tf.Tensor[];

/**
 * (x - μ) / sqrt(var + eps) · γ + β over the last axis, biased variance as torch. The backward
 * is written out (dx = rstd · (g − mean(g) − x̂ · mean(g · x̂)), g = dy · γ): tfjs's autodiff of the
 * forward runs ~2× the full-size kernels and saves (copies, on wasm) every intermediate.
 */
export function layerNorm<T extends tf.Tensor>(x: T, ln: LayerNorm): T {
  if (hasKernels(FUSED.layerNorm, FUSED.layerNormGrad)) {
    const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const [y, xhat, rstd] = runFused(FUSED.layerNorm, { x: input, gamma, beta }, { eps: ln.eps }) as [tf.Tensor, tf.Tensor, tf.Tensor];
      save([xhat, rstd, gamma]);
      return { value: y, gradFunc: (dy: tf.Tensor, [xh, r, g]: tf.Tensor[]) => runFused(FUSED.layerNormGrad, { dy, xhat: xh!, rstd: r!, gamma: g! }) as tf.Tensor[] };
    });
    return fused(x, ln.weight, ln.bias) as T;
  }
  const norm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const centered = tf.sub(input, tf.mean(input, -1, true)); // [..., H]
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), ln.eps)); // [..., 1]
    const xhat = tf.mul(centered, rstd); // [..., H]
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, r, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const h = xh.shape[xh.rank - 1]!;
        const rows = tf.reshape(dy, [-1, h]); // [rows, H]: γ and β collect over every row
        const dxhat = tf.mul(dy, g);
        const dx = tf.mul(tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))), r);
        return [dx, tf.sum(tf.mul(rows, tf.reshape(xh, [-1, h])), 0), tf.sum(rows, 0)];
      },
    };
  });
  return norm(x, ln.weight, ln.bias) as T;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Exact erf GELU, x·Φ(x) with Φ(x) = 0.5·(1 + erf(x/√2)), and its derivative Φ(x) + x·φ(x)
 * written out from the saved Φ: half the kernels of autodiff through erf, on the widest
 * activation of the layer ([N, intermediate]).
 */
function geluErf<T extends tf.Tensor>(x: T): T {
  if (hasKernels(FUSED.gelu, FUSED.geluGrad)) {
    const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([input]);
      return { value: runFused(FUSED.gelu, { x: input }) as tf.Tensor, gradFunc: (dy: tf.Tensor, [v]: tf.Tensor[]) => runFused(FUSED.geluGrad, { dy, x: v! }) as tf.Tensor };
    });
    return fused(x) as T;
  }
  const gelu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const cdf = tf.add(tf.mul(tf.erf(tf.mul(input, Math.SQRT1_2)), 0.5), 0.5);
    save([input, cdf]);
    return {
      value: tf.mul(input, cdf),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [v, phi] = saved as [tf.Tensor, tf.Tensor];
        const pdf = tf.mul(tf.exp(tf.mul(tf.square(v), -0.5)), INV_SQRT_2PI); // φ(x)
        return tf.mul(dy, tf.add(phi, tf.mul(v, pdf)));
      },
    };
  });
  return gelu(x) as T;
}

/** Softmax over the last axis; its backward is one fused pass where the backend has the kernel. */
export function softmax<T extends tf.Tensor>(logits: T): T {
  if (!hasKernels(FUSED.softmaxGrad)) return tf.softmax(logits);
  const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = tf.softmax(input);
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, [p]: tf.Tensor[]) => runFused(FUSED.softmaxGrad, { dy, y: p! }) as tf.Tensor };
  });
  return fused(logits) as T;
}

/** HF `ACT2FN[name]`. */
export function activation<T extends tf.Tensor>(name: Activation, x: T): T {
  switch (name) {
    case 'gelu':
    case 'gelu_python':
      return geluErf(x);
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
