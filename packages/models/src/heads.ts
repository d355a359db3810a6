/**
 * Task heads shared across families; each family passes its HF weight names.
 */
import * as tf from '@tensorflow/tfjs';
import { firstToken } from './backbone.js';
import type { Activation } from './config.js';
import type { BaseModelOutput } from './inputs.js';
import { activation, layerNorm, linear, type ForwardContext } from './layers.js';
import type { MaskedLMHead, SequenceHead } from './modeling.js';
import type { ParamScope } from './params.js';

/** BERT / ALBERT: `classifier(dropout(pooler_output))`. */
export function pooledClassifierHead(scope: ParamScope, hidden: number, numLabels: number, dropout: number): SequenceHead {
  const classifier = scope.linear('classifier', hidden, numLabels);
  const head = (out: BaseModelOutput, ctx: ForwardContext): tf.Tensor2D => linear(ctx.dropout(out.poolerOutput!, dropout), classifier);
  return Object.assign(head, { layout: { kind: 'pooled', classifier } as const });
}

export interface FirstTokenHeadSpec {
  dense: string;
  outProj: string;
  act: Activation;
  dropout: number;
  /** RoBERTa/ELECTRA drop h0 before the dense layer too; DistilBERT only after it. */
  dropoutBeforeDense: boolean;
}

/** RoBERTa (tanh), ELECTRA (erf GELU), DistilBERT (ReLU): `outProj(dropout(act(dense(h0))))`. */
export function firstTokenClassifierHead(scope: ParamScope, hidden: number, numLabels: number, spec: FirstTokenHeadSpec): SequenceHead {
  const dense = scope.linear(spec.dense, hidden, hidden);
  const outProj = scope.linear(spec.outProj, hidden, numLabels);
  const head = (out: BaseModelOutput, ctx: ForwardContext): tf.Tensor2D => {
    const h0 = firstToken(out.lastHiddenState); // [B, H]
    const x = spec.dropoutBeforeDense ? ctx.dropout(h0, spec.dropout) : h0;
    return linear(ctx.dropout(activation(spec.act, linear(x, dense)), spec.dropout), outProj); // [B, C]
  };
  return Object.assign(head, { layout: { kind: 'firstToken', dense, act: spec.act, outProj } as const });
}

export interface TiedLMHeadSpec {
  /** Transform Linear H -> E, its activation, and its LayerNorm. */
  dense: string;
  act: Activation;
  layerNorm: string;
  eps: number;
  /** The decoder bias's own key (`cls.predictions.bias`). */
  bias: string;
  /** Checkpoint keys that are tied copies: decoder weight (= word embeddings) and decoder bias (= `bias`). */
  decoderWeight: string;
  decoderBias?: string;
}

/**
 * MLM head with the decoder tied to the word embeddings `[V, E]`:
 * `logits = LN(act(dense(h))) @ Wordᵀ + bias`.
 */
export function tiedLMHead(scope: ParamScope, hidden: number, wordEmbeddings: tf.Variable, spec: TiedLMHeadSpec): MaskedLMHead {
  const [vocab, embedding] = wordEmbeddings.shape as [number, number];
  const bias = scope.zeros(spec.bias, vocab);
  const dense = scope.linear(spec.dense, hidden, embedding);
  const ln = scope.layerNorm(spec.layerNorm, embedding, spec.eps);
  scope.alias(spec.decoderWeight, wordEmbeddings);
  if (spec.decoderBias) scope.alias(spec.decoderBias, bias);
  const head = (h: tf.Tensor2D): tf.Tensor2D => {
    const t = layerNorm(activation(spec.act, linear(h, dense)), ln); // [N, E]
    return tf.fused.matMul({ a: t, b: wordEmbeddings as tf.Tensor2D, transposeB: true, bias }) as tf.Tensor2D; // [N, V]
  };
  return Object.assign(head, { layout: { dense, act: spec.act, layerNorm: ln, decoder: wordEmbeddings, bias } });
}
