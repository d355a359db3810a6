/**
 * Embeddings → (optional projection) → encoder → (optional pooler): the backbone of every
 * family. Family files only build the weights under HF names and pick the position scheme.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryModelsError } from './errors.js';
import type { BaseModelOutput, EncoderInputs } from './inputs.js';
import { embeddingLookup, ForwardContext, layerNorm, linear, type Embedding, type LayerNorm, type Linear } from './layers.js';
import type { Backbone } from './modeling.js';
import { runEncoder, type EncoderSpec, type OutputRequest, type TransformerLayerWeights } from './transformer.js';

export interface EmbeddingWeights {
  word: Embedding;
  position: Embedding;
  /** Absent in DistilBERT. */
  tokenType?: Embedding;
  layerNorm: LayerNorm;
}

export interface BackboneParts {
  embeddings: EmbeddingWeights;
  embeddingDropout: number;
  /** Position id of every token, `[B·S]` row-major, from the host copy of the ids. */
  positionIds(inputs: EncoderInputs): Int32Array;
  /** ELECTRA `embeddings_project` / ALBERT `embedding_hidden_mapping_in` (E -> H). */
  projection?: Linear;
  /** `layers[i]`: the weights applied as layer i (shared objects for ALBERT groups). */
  layers: TransformerLayerWeights[][];
  spec: EncoderSpec;
  /** tanh(pooler(h[:, 0])). */
  pooler?: Linear;
  hiddenSize: number;
}

/** BERT positions: 0..S-1 in every row. */
export function arangePositions(inputs: EncoderInputs): Int32Array {
  return Int32Array.from({ length: inputs.batch * inputs.seqLen }, (_, i) => i % inputs.seqLen);
}

/**
 * RoBERTa positions: `cumsum(ids != pad) * (ids != pad) + pad`, per row, from the ids (not the
 * mask): real tokens count pad+1, pad+2, ... even after left padding; pads sit at `pad`.
 */
export function robertaPositions(inputs: EncoderInputs, pad: number): Int32Array {
  const out = new Int32Array(inputs.idsData.length);
  for (let row = 0; row < inputs.batch; row++) {
    let count = 0;
    for (let j = 0; j < inputs.seqLen; j++) {
      const i = row * inputs.seqLen + j;
      out[i] = inputs.idsData[i] === pad ? pad : pad + ++count;
    }
  }
  return out;
}

export class EncoderBackbone implements Backbone {
  readonly hiddenSize: number;
  /** Public so exporters (ONNX) can rebuild the same computation from the same weights. */
  constructor(readonly parts: BackboneParts) {
    this.hiddenSize = parts.hiddenSize;
  }

  get wordEmbeddings(): tf.Variable {
    return this.parts.embeddings.word.weight;
  }

  /** Embedding LayerNorm output `[B·S, E]`, before any projection. */
  embed(inputs: EncoderInputs, ctx: ForwardContext): tf.Tensor2D {
    const { word, position, tokenType, layerNorm: ln } = this.parts.embeddings;
    const positions = this.parts.positionIds(inputs);
    const maxPositions = position.weight.shape[0];
    const highest = positions.reduce((a, b) => Math.max(a, b), 0);
    if (highest >= maxPositions) {
      throw new DistilleryModelsError('INPUT_INVALID', `inputs.inputIds: sequence length ${inputs.seqLen} needs position id ${highest}, beyond max_position_embeddings (${maxPositions}); truncate the inputs to fit.`);
    }
    const { batch: b, seqLen: s } = inputs;
    const perToken = (t: tf.Tensor2D) => tf.reshape(t, [b, s, -1]); // [N, E] -> [B, S, E]
    // When every row reads positions 0..S-1 (BERT) and no token types are given, the same table
    // rows repeat down the batch: one slice broadcast over it replaces a gather and a scatter-add.
    const samePositions = positions.every((p, i) => p === i % s) && (position.paddingIdx === null || position.paddingIdx >= s);
    const positional = samePositions ? tf.slice(position.weight, [0, 0], [s, -1]) : perToken(embeddingLookup(position, tf.tensor1d(positions, 'int32'))); // [S, E] | [B, S, E]
    let sum = tf.add(perToken(embeddingLookup(word, inputs.ids)), positional); // [B, S, E]
    if (tokenType) {
      const types = inputs.tokenTypes || tokenType.paddingIdx === 0 ? perToken(embeddingLookup(tokenType, inputs.tokenTypes ?? tf.zeros([b * s], 'int32'))) : tf.slice(tokenType.weight, [0, 0], [1, -1]); // [B, S, E] | [1, E]
      sum = tf.add(sum, types);
    }
    return ctx.dropout(layerNorm(tf.reshape(sum, [b * s, -1]) as tf.Tensor2D, ln), this.parts.embeddingDropout); // [N, E]
  }

  /**
   * What the parity fixtures record beside the outputs, for debugging a port: the position ids
   * read from the table, and the embedding LayerNorm output when a projection (ALBERT's mapping,
   * ELECTRA's embeddings_project) follows it, so `hidden_states[0]` alone would not show it.
   */
  debugExtras(inputs: EncoderInputs): { positionIds: Int32Array; embeddingOutput?: tf.Tensor3D } {
    const positionIds = this.parts.positionIds(inputs);
    if (!this.parts.projection) return { positionIds };
    const e = this.embed(inputs, new ForwardContext(false)); // [N, E]
    return { positionIds, embeddingOutput: tf.reshape(e, [inputs.batch, inputs.seqLen, -1]) };
  }

  forward(inputs: EncoderInputs, ctx: ForwardContext, want: OutputRequest): BaseModelOutput {
    const { projection, pooler } = this.parts;
    const e = this.embed(inputs, ctx); // [N, E]
    const x = projection ? linear(e, projection) : e; // [N, H]
    const out = runEncoder(x, inputs.mask, inputs.padded, this.parts.layers, this.parts.spec, ctx, want);
    if (!pooler) return out;
    return { ...out, poolerOutput: tf.tanh(linear(firstToken(out.lastHiddenState), pooler)) }; // [B, H]
  }
}

/** `h[:, 0]` `[B, H]`: position 0, even when it is a pad (left padding), as HF. */
export function firstToken(h: tf.Tensor3D): tf.Tensor2D {
  return tf.reshape(tf.slice(h, [0, 0, 0], [-1, 1, -1]), [h.shape[0], h.shape[2]]);
}
