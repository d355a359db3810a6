/**
 * RoBERTa: BERT's encoder with positions counted from `pad_token_id` (see backbone.ts
 * `robertaPositions`; the position table has padding_idx = pad), no pooler in the
 * classification model, and a dense+tanh classification head. HF names:
 *   roberta.embeddings.*, roberta.encoder.layer.{i}.* (as BERT), roberta.pooler.dense (bare model)
 *   classifier.{dense,out_proj}, lm_head.{dense,layer_norm,bias}, classifier, qa_outputs
 */
import { EncoderBackbone, robertaPositions } from './backbone.js';
import { bertEmbeddings, bertEncoderSpec, bertLayers, classifierDropout } from './bert.js';
import type { RobertaConfig } from './config.js';
import { firstTokenClassifierHead, tiedLMHead } from './heads.js';
import type { Family } from './modeling.js';
import { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';

export const robertaFamily: Family<RobertaConfig> = {
  modelType: 'roberta',
  prefix: 'roberta',
  basePooler: true,
  backbone(store, prefix, c, pooler) {
    const core = store.scope(prefix, true);
    const pad = c.padTokenId!; // parseConfig refuses a null pad for RoBERTa
    return new EncoderBackbone({
      embeddings: bertEmbeddings(core.child('embeddings'), c, c.hiddenSize, pad),
      embeddingDropout: c.hiddenDropoutProb,
      positionIds: (inputs) => robertaPositions(inputs, pad),
      layers: bertLayers(core.child('encoder'), c),
      spec: bertEncoderSpec(c),
      ...(pooler ? { pooler: store.scope(prefix).linear('pooler.dense', c.hiddenSize, c.hiddenSize) } : {}),
      hiddenSize: c.hiddenSize,
    });
  },
  sequenceClassification: {
    pooler: false,
    head: (scope, c) =>
      firstTokenClassifierHead(scope, c.hiddenSize, c.numLabels, { dense: 'classifier.dense', outProj: 'classifier.out_proj', act: 'tanh', dropout: classifierDropout(c), dropoutBeforeDense: true }),
  },
  maskedLM: (scope, c, wordEmbeddings) =>
    // RobertaLMHead hard-codes the erf GELU.
    tiedLMHead(scope, c.hiddenSize, wordEmbeddings, {
      dense: 'lm_head.dense',
      act: 'gelu',
      layerNorm: 'lm_head.layer_norm',
      eps: c.layerNormEps,
      bias: 'lm_head.bias',
      decoderWeight: 'lm_head.decoder.weight',
      decoderBias: 'lm_head.decoder.bias',
    }),
  tokenClassifierDropout: classifierDropout,
  qaDropout: () => 0,
};

export class RobertaModel extends BaseModel<RobertaConfig> {
  constructor(config: RobertaConfig, seed = 0) { super(robertaFamily, config, seed); }
}
export class RobertaForSequenceClassification extends ModelForSequenceClassification<RobertaConfig> {
  constructor(config: RobertaConfig, seed = 0) { super(robertaFamily, config, seed); }
}
export class RobertaForTokenClassification extends ModelForTokenClassification<RobertaConfig> {
  constructor(config: RobertaConfig, seed = 0) { super(robertaFamily, config, seed); }
}
export class RobertaForMaskedLM extends ModelForMaskedLM<RobertaConfig> {
  constructor(config: RobertaConfig, seed = 0) { super(robertaFamily, config, seed); }
}
export class RobertaForQuestionAnswering extends ModelForQuestionAnswering<RobertaConfig> {
  constructor(config: RobertaConfig, seed = 0) { super(robertaFamily, config, seed); }
}
