/**
 * ELECTRA (discriminator): BERT's embeddings at `embedding_size`, projected to `hidden_size`
 * by `electra.embeddings_project` only when the two differ; BERT's encoder; no pooler.
 * HF names: electra.embeddings.*, electra.embeddings_project, electra.encoder.layer.{i}.*,
 *   classifier.{dense,out_proj}, generator_predictions.{dense,LayerNorm}, generator_lm_head.bias
 */
import { arangePositions, EncoderBackbone } from './backbone.js';
import { bertEmbeddings, bertEncoderSpec, bertLayers, classifierDropout } from './bert.js';
import type { ElectraConfig } from './config.js';
import { firstTokenClassifierHead, tiedLMHead } from './heads.js';
import type { Family } from './modeling.js';
import { BaseModel, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification } from './tasks.js';

export const electraFamily: Family<ElectraConfig> = {
  modelType: 'electra',
  prefix: 'electra',
  basePooler: false,
  backbone(store, prefix, c) {
    const core = store.scope(prefix, true);
    const embeddings = bertEmbeddings(core.child('embeddings'), c, c.embeddingSize, null);
    const projection = c.embeddingSize !== c.hiddenSize ? core.linear('embeddings_project', c.embeddingSize, c.hiddenSize) : undefined;
    return new EncoderBackbone({
      embeddings,
      embeddingDropout: c.hiddenDropoutProb,
      positionIds: arangePositions,
      ...(projection ? { projection } : {}),
      layers: bertLayers(core.child('encoder'), c),
      spec: bertEncoderSpec(c),
      hiddenSize: c.hiddenSize,
    });
  },
  sequenceClassification: {
    pooler: false,
    // ElectraClassificationHead hard-codes the erf GELU, whatever hidden_act says.
    head: (scope, c) =>
      firstTokenClassifierHead(scope, c.hiddenSize, c.numLabels, { dense: 'classifier.dense', outProj: 'classifier.out_proj', act: 'gelu', dropout: classifierDropout(c), dropoutBeforeDense: true }),
  },
  maskedLM: (scope, c, wordEmbeddings) =>
    tiedLMHead(scope, c.hiddenSize, wordEmbeddings, {
      dense: 'generator_predictions.dense',
      act: 'gelu',
      layerNorm: 'generator_predictions.LayerNorm',
      eps: c.layerNormEps,
      bias: 'generator_lm_head.bias',
      decoderWeight: 'generator_lm_head.weight',
    }),
  tokenClassifierDropout: classifierDropout,
  qaDropout: () => 0,
};

export class ElectraModel extends BaseModel<ElectraConfig> {
  constructor(config: ElectraConfig, seed = 0) { super(electraFamily, config, seed); }
}
export class ElectraForSequenceClassification extends ModelForSequenceClassification<ElectraConfig> {
  constructor(config: ElectraConfig, seed = 0) { super(electraFamily, config, seed); }
}
export class ElectraForTokenClassification extends ModelForTokenClassification<ElectraConfig> {
  constructor(config: ElectraConfig, seed = 0) { super(electraFamily, config, seed); }
}
export class ElectraForMaskedLM extends ModelForMaskedLM<ElectraConfig> {
  constructor(config: ElectraConfig, seed = 0) { super(electraFamily, config, seed); }
}
export class ElectraForQuestionAnswering extends ModelForQuestionAnswering<ElectraConfig> {
  constructor(config: ElectraConfig, seed = 0) { super(electraFamily, config, seed); }
}
