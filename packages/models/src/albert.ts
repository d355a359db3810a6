/**
 * ALBERT: factorised embeddings (size E) mapped to H by `embedding_hidden_mapping_in`, and
 * `num_hidden_groups` groups of `inner_group_num` layers shared across depth: layer i runs
 * group floor(i / (L / G)). Shared weights are one set of variables, so their gradients sum
 * over every layer that uses them. HF names:
 *   albert.embeddings.*, albert.encoder.embedding_hidden_mapping_in,
 *   albert.encoder.albert_layer_groups.{g}.albert_layers.{j}.{attention.{query,key,value,dense,LayerNorm},
 *     ffn, ffn_output, full_layer_layer_norm}
 *   albert.pooler, classifier, predictions.{dense,LayerNorm,bias}
 */
import { arangePositions, EncoderBackbone } from './backbone.js';
import type { AlbertConfig } from './config.js';
import { pooledClassifierHead, tiedLMHead } from './heads.js';
import type { Family } from './modeling.js';
import type { ParamScope } from './params.js';
import { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';
import type { TransformerLayerWeights } from './transformer.js';

function albertGroup(scope: ParamScope, c: AlbertConfig): TransformerLayerWeights[] {
  const h = c.hiddenSize;
  return Array.from({ length: c.innerGroupNum }, (_, j) => {
    const l = scope.child(`albert_layers.${j}`);
    return {
      query: l.linear('attention.query', h, h),
      key: l.linear('attention.key', h, h),
      value: l.linear('attention.value', h, h),
      attentionOutput: l.linear('attention.dense', h, h),
      attentionLayerNorm: l.layerNorm('attention.LayerNorm', h, c.layerNormEps),
      ffnIn: l.linear('ffn', h, c.intermediateSize),
      ffnOut: l.linear('ffn_output', c.intermediateSize, h),
      outputLayerNorm: l.layerNorm('full_layer_layer_norm', h, c.layerNormEps),
    };
  });
}

export const albertFamily: Family<AlbertConfig> = {
  modelType: 'albert',
  prefix: 'albert',
  basePooler: true,
  backbone(store, prefix, c, pooler) {
    const core = store.scope(prefix, true);
    const e = core.child('embeddings');
    const embeddings = {
      word: e.embedding('word_embeddings', c.vocabSize, c.embeddingSize, c.padTokenId),
      position: e.embedding('position_embeddings', c.maxPositionEmbeddings, c.embeddingSize),
      tokenType: e.embedding('token_type_embeddings', c.typeVocabSize, c.embeddingSize),
      layerNorm: e.layerNorm('LayerNorm', c.embeddingSize, c.layerNormEps),
    };
    const encoder = core.child('encoder');
    const projection = encoder.linear('embedding_hidden_mapping_in', c.embeddingSize, c.hiddenSize);
    const groups = Array.from({ length: c.numHiddenGroups }, (_, g) => albertGroup(encoder.child(`albert_layer_groups.${g}`), c));
    // Same float expression as HF: int(i / (num_hidden_layers / num_hidden_groups)).
    const layers = Array.from({ length: c.numHiddenLayers }, (_, i) => groups[Math.floor(i / (c.numHiddenLayers / c.numHiddenGroups))]!);
    return new EncoderBackbone({
      embeddings,
      embeddingDropout: c.hiddenDropoutProb,
      positionIds: arangePositions,
      projection,
      layers,
      // AlbertLayer applies no dropout after ffn_output.
      spec: { numHeads: c.numAttentionHeads, act: c.hiddenAct, attentionDropout: c.attentionProbsDropoutProb, attentionOutputDropout: c.hiddenDropoutProb, ffnDropout: 0 },
      ...(pooler ? { pooler: store.scope(prefix).linear('pooler', c.hiddenSize, c.hiddenSize) } : {}),
      hiddenSize: c.hiddenSize,
    });
  },
  sequenceClassification: {
    pooler: true,
    head: (scope, c) => pooledClassifierHead(scope, c.hiddenSize, c.numLabels, c.classifierDropoutProb),
  },
  maskedLM: (scope, c, wordEmbeddings) =>
    tiedLMHead(scope, c.hiddenSize, wordEmbeddings, {
      dense: 'predictions.dense',
      act: c.hiddenAct,
      layerNorm: 'predictions.LayerNorm',
      eps: c.layerNormEps,
      bias: 'predictions.bias',
      decoderWeight: 'predictions.decoder.weight',
      decoderBias: 'predictions.decoder.bias',
    }),
  tokenClassifierDropout: (c) => c.classifierDropoutProb,
  qaDropout: () => 0,
};

export class AlbertModel extends BaseModel<AlbertConfig> {
  constructor(config: AlbertConfig, seed = 0) { super(albertFamily, config, seed); }
}
export class AlbertForSequenceClassification extends ModelForSequenceClassification<AlbertConfig> {
  constructor(config: AlbertConfig, seed = 0) { super(albertFamily, config, seed); }
}
export class AlbertForTokenClassification extends ModelForTokenClassification<AlbertConfig> {
  constructor(config: AlbertConfig, seed = 0) { super(albertFamily, config, seed); }
}
export class AlbertForMaskedLM extends ModelForMaskedLM<AlbertConfig> {
  constructor(config: AlbertConfig, seed = 0) { super(albertFamily, config, seed); }
}
export class AlbertForQuestionAnswering extends ModelForQuestionAnswering<AlbertConfig> {
  constructor(config: AlbertConfig, seed = 0) { super(albertFamily, config, seed); }
}
