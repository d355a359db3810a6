/**
 * BERT (also TinyBERT, MiniLM, bert-tiny/mini/small checkpoints). HF names:
 *   bert.embeddings.{word,position,token_type}_embeddings, bert.embeddings.LayerNorm
 *   bert.encoder.layer.{i}.attention.self.{query,key,value}, .attention.output.{dense,LayerNorm},
 *                        .intermediate.dense, .output.{dense,LayerNorm}
 *   bert.pooler.dense, classifier, cls.predictions.{transform.dense,transform.LayerNorm,bias}
 * The embeddings and encoder builders are reused by RoBERTa and ELECTRA, which share them.
 */
import { arangePositions, EncoderBackbone, type EmbeddingWeights } from './backbone.js';
import type { BertConfig, ElectraConfig, RobertaConfig } from './config.js';
import { pooledClassifierHead, tiedLMHead } from './heads.js';
import type { Family } from './modeling.js';
import type { ParamScope } from './params.js';
import { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';
import type { EncoderSpec, TransformerLayerWeights } from './transformer.js';

type BertLike = BertConfig | RobertaConfig | ElectraConfig;

/** `embeddings.*` at width `dim` (ELECTRA: embedding_size); `positionPaddingIdx` is RoBERTa's. */
export function bertEmbeddings(scope: ParamScope, c: BertLike, dim: number, positionPaddingIdx: number | null): EmbeddingWeights {
  return {
    word: scope.embedding('word_embeddings', c.vocabSize, dim, c.padTokenId),
    position: scope.embedding('position_embeddings', c.maxPositionEmbeddings, dim, positionPaddingIdx),
    tokenType: scope.embedding('token_type_embeddings', c.typeVocabSize, dim),
    layerNorm: scope.layerNorm('LayerNorm', dim, c.layerNormEps),
  };
}

/** `encoder.layer.{i}.*`, one layer per entry. */
export function bertLayers(scope: ParamScope, c: BertLike): TransformerLayerWeights[][] {
  const h = c.hiddenSize;
  return Array.from({ length: c.numHiddenLayers }, (_, i) => {
    const l = scope.child(`layer.${i}`);
    return [{
      query: l.linear('attention.self.query', h, h),
      key: l.linear('attention.self.key', h, h),
      value: l.linear('attention.self.value', h, h),
      attentionOutput: l.linear('attention.output.dense', h, h),
      attentionLayerNorm: l.layerNorm('attention.output.LayerNorm', h, c.layerNormEps),
      ffnIn: l.linear('intermediate.dense', h, c.intermediateSize),
      ffnOut: l.linear('output.dense', c.intermediateSize, h),
      outputLayerNorm: l.layerNorm('output.LayerNorm', h, c.layerNormEps),
    }];
  });
}

export function bertEncoderSpec(c: BertLike): EncoderSpec {
  return {
    numHeads: c.numAttentionHeads,
    act: c.hiddenAct,
    attentionDropout: c.attentionProbsDropoutProb,
    attentionOutputDropout: c.hiddenDropoutProb,
    ffnDropout: c.hiddenDropoutProb,
  };
}

/** HF `classifier_dropout if not None else hidden_dropout_prob`. */
export function classifierDropout(c: BertLike): number {
  return c.classifierDropout ?? c.hiddenDropoutProb;
}

export const bertFamily: Family<BertConfig> = {
  modelType: 'bert',
  prefix: 'bert',
  basePooler: true,
  backbone(store, prefix, c, pooler) {
    const core = store.scope(prefix, true);
    return new EncoderBackbone({
      embeddings: bertEmbeddings(core.child('embeddings'), c, c.hiddenSize, null),
      embeddingDropout: c.hiddenDropoutProb,
      positionIds: arangePositions,
      layers: bertLayers(core.child('encoder'), c),
      spec: bertEncoderSpec(c),
      ...(pooler ? { pooler: store.scope(prefix).linear('pooler.dense', c.hiddenSize, c.hiddenSize) } : {}),
      hiddenSize: c.hiddenSize,
    });
  },
  sequenceClassification: {
    pooler: true,
    head: (scope, c) => pooledClassifierHead(scope, c.hiddenSize, c.numLabels, classifierDropout(c)),
  },
  maskedLM: (scope, c, wordEmbeddings) =>
    tiedLMHead(scope, c.hiddenSize, wordEmbeddings, {
      dense: 'cls.predictions.transform.dense',
      act: c.hiddenAct,
      layerNorm: 'cls.predictions.transform.LayerNorm',
      eps: c.layerNormEps,
      bias: 'cls.predictions.bias',
      decoderWeight: 'cls.predictions.decoder.weight',
      decoderBias: 'cls.predictions.decoder.bias',
    }),
  tokenClassifierDropout: classifierDropout,
  qaDropout: () => 0,
};

export class BertModel extends BaseModel<BertConfig> {
  constructor(config: BertConfig, seed = 0) { super(bertFamily, config, seed); }
}
export class BertForSequenceClassification extends ModelForSequenceClassification<BertConfig> {
  constructor(config: BertConfig, seed = 0) { super(bertFamily, config, seed); }
}
export class BertForTokenClassification extends ModelForTokenClassification<BertConfig> {
  constructor(config: BertConfig, seed = 0) { super(bertFamily, config, seed); }
}
export class BertForMaskedLM extends ModelForMaskedLM<BertConfig> {
  constructor(config: BertConfig, seed = 0) { super(bertFamily, config, seed); }
}
export class BertForQuestionAnswering extends ModelForQuestionAnswering<BertConfig> {
  constructor(config: BertConfig, seed = 0) { super(bertFamily, config, seed); }
}
