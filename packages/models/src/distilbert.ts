/**
 * DistilBERT: no token types, LayerNorm eps hard-coded to 1e-12, no dropout after the
 * attention output projection, and a pre_classifier + ReLU head. HF names:
 *   distilbert.embeddings.{word_embeddings,position_embeddings,LayerNorm}
 *   distilbert.transformer.layer.{i}.attention.{q_lin,k_lin,v_lin,out_lin}, .sa_layer_norm,
 *     .ffn.{lin1,lin2}, .output_layer_norm
 *   pre_classifier, classifier, vocab_transform, vocab_layer_norm, vocab_projector.bias, qa_outputs
 */
import * as tf from '@tensorflow/tfjs';
import { arangePositions, EncoderBackbone } from './backbone.js';
import type { DistilBertConfig } from './config.js';
import { firstTokenClassifierHead, tiedLMHead } from './heads.js';
import type { Family } from './modeling.js';
import { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';

const EPS = 1e-12;

/** HF `create_sinusoidal_embeddings`: sin on even columns, cos on odd, angle pos / 10000^(2⌊j/2⌋/dim). */
function sinusoidalTable(positions: number, dim: number): tf.Tensor2D {
  const out = new Float32Array(positions * dim);
  for (let pos = 0; pos < positions; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / 10000 ** ((2 * Math.floor(j / 2)) / dim);
      out[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(out, [positions, dim]);
}

export const distilBertFamily: Family<DistilBertConfig> = {
  modelType: 'distilbert',
  prefix: 'distilbert',
  basePooler: false,
  backbone(store, prefix, c) {
    const core = store.scope(prefix, true);
    const e = core.child('embeddings');
    // Sinusoidal tables are fixed in HF (requires_grad False); here they start sinusoidal and stay trainable.
    const positionInit = c.sinusoidalPosEmbds ? sinusoidalTable(c.maxPositionEmbeddings, c.dim) : undefined;
    const embeddings = {
      word: e.embedding('word_embeddings', c.vocabSize, c.dim, c.padTokenId),
      position: e.embedding('position_embeddings', c.maxPositionEmbeddings, c.dim, null, positionInit),
      layerNorm: e.layerNorm('LayerNorm', c.dim, EPS),
    };
    const layers = Array.from({ length: c.nLayers }, (_, i) => {
      const l = core.child(`transformer.layer.${i}`);
      return [{
        query: l.linear('attention.q_lin', c.dim, c.dim),
        key: l.linear('attention.k_lin', c.dim, c.dim),
        value: l.linear('attention.v_lin', c.dim, c.dim),
        attentionOutput: l.linear('attention.out_lin', c.dim, c.dim),
        attentionLayerNorm: l.layerNorm('sa_layer_norm', c.dim, EPS),
        ffnIn: l.linear('ffn.lin1', c.dim, c.hiddenDim),
        ffnOut: l.linear('ffn.lin2', c.hiddenDim, c.dim),
        outputLayerNorm: l.layerNorm('output_layer_norm', c.dim, EPS),
      }];
    });
    return new EncoderBackbone({
      embeddings,
      embeddingDropout: c.dropout,
      positionIds: arangePositions,
      layers,
      spec: { numHeads: c.nHeads, act: c.activation, attentionDropout: c.attentionDropout, attentionOutputDropout: 0, ffnDropout: c.dropout },
      hiddenSize: c.dim,
    });
  },
  sequenceClassification: {
    pooler: false,
    head: (scope, c) =>
      firstTokenClassifierHead(scope, c.dim, c.numLabels, { dense: 'pre_classifier', outProj: 'classifier', act: 'relu', dropout: c.seqClassifDropout, dropoutBeforeDense: false }),
  },
  maskedLM: (scope, c, wordEmbeddings) =>
    tiedLMHead(scope, c.dim, wordEmbeddings, {
      dense: 'vocab_transform',
      act: c.activation,
      layerNorm: 'vocab_layer_norm',
      eps: EPS,
      bias: 'vocab_projector.bias',
      decoderWeight: 'vocab_projector.weight',
    }),
  tokenClassifierDropout: (c) => c.dropout,
  qaDropout: (c) => c.qaDropout,
};

export class DistilBertModel extends BaseModel<DistilBertConfig> {
  constructor(config: DistilBertConfig, seed = 0) { super(distilBertFamily, config, seed); }
}
export class DistilBertForSequenceClassification extends ModelForSequenceClassification<DistilBertConfig> {
  constructor(config: DistilBertConfig, seed = 0) { super(distilBertFamily, config, seed); }
}
export class DistilBertForTokenClassification extends ModelForTokenClassification<DistilBertConfig> {
  constructor(config: DistilBertConfig, seed = 0) { super(distilBertFamily, config, seed); }
}
export class DistilBertForMaskedLM extends ModelForMaskedLM<DistilBertConfig> {
  constructor(config: DistilBertConfig, seed = 0) { super(distilBertFamily, config, seed); }
}
export class DistilBertForQuestionAnswering extends ModelForQuestionAnswering<DistilBertConfig> {
  constructor(config: DistilBertConfig, seed = 0) { super(distilBertFamily, config, seed); }
}
