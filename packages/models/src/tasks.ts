/**
 * The five HF model classes, generic over the family: bare model, sequence classification,
 * token classification, masked LM, question answering. Each family file subclasses these
 * with its HF name (BertForSequenceClassification, ...), fixing the family.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import type { BaseModelOutput, ForwardOptions, ModelInputs, ModelOutput, QuestionAnsweringInputs, QuestionAnsweringOutput, SequenceClassifierOutput } from './inputs.js';
import { linear, type Linear } from './layers.js';
import { questionAnsweringLoss, sequenceClassificationLoss, tokenCrossEntropy } from './losses.js';
import { encoderExtras, PreTrainedModel, type Backbone, type Family, type MaskedLMHead, type SequenceHead } from './modeling.js';

/** `[B, S, H]` -> `[B·S, H]` (free: reshape shares the buffer). */
function flat(h: tf.Tensor3D): tf.Tensor2D {
  return tf.reshape(h, [-1, h.shape[2]]);
}

/** Bare encoder: `lastHiddenState` (and `poolerOutput` where the family has a pooler). */
export class BaseModel<C extends ModelConfig> extends PreTrainedModel<C, ModelInputs, BaseModelOutput> {
  readonly backbone: Backbone;
  constructor(family: Family<C>, config: C, seed: number) {
    super(family, config, seed);
    // The bare model's weights carry no prefix (`embeddings.word_embeddings.weight`).
    this.backbone = family.backbone(this.store, '', config, family.basePooler);
  }

  forward(inputs: ModelInputs, options: ForwardOptions = {}): BaseModelOutput {
    return this.encode(this.backbone, inputs, options).out;
  }
}

export class ModelForSequenceClassification<C extends ModelConfig> extends PreTrainedModel<C, ModelInputs, SequenceClassifierOutput> {
  readonly backbone: Backbone;
  readonly head: SequenceHead;
  constructor(family: Family<C>, config: C, seed: number) {
    super(family, config, seed);
    this.backbone = family.backbone(this.store, family.prefix, config, family.sequenceClassification.pooler);
    this.head = family.sequenceClassification.head(this.store.scope(''), config);
  }

  forward(inputs: ModelInputs, options: ForwardOptions = {}): SequenceClassifierOutput {
    const { out, ctx } = this.encode(this.backbone, inputs, options);
    const logits = this.head(out, ctx); // [B, C]
    return {
      logits,
      ...(inputs.labels ? { loss: sequenceClassificationLoss(logits, inputs.labels, this.config.numLabels, this.config.problemType) } : {}),
      ...(out.poolerOutput ? { pooledOutput: out.poolerOutput } : {}),
      ...encoderExtras(out),
    };
  }
}

export class ModelForTokenClassification<C extends ModelConfig> extends PreTrainedModel<C, ModelInputs, ModelOutput> {
  readonly backbone: Backbone;
  readonly classifier: Linear;
  constructor(family: Family<C>, config: C, seed: number) {
    super(family, config, seed);
    this.backbone = family.backbone(this.store, family.prefix, config, false);
    this.classifier = this.store.scope('').linear('classifier', this.backbone.hiddenSize, config.numLabels);
  }

  forward(inputs: ModelInputs, options: ForwardOptions = {}): ModelOutput {
    const { out, ctx } = this.encode(this.backbone, inputs, options);
    const [b, s] = out.lastHiddenState.shape;
    const h = ctx.dropout(flat(out.lastHiddenState), this.family.tokenClassifierDropout(this.config));
    const logits = tf.reshape(linear(h, this.classifier), [b, s, this.config.numLabels]) as tf.Tensor3D; // [B, S, C]
    return { logits, ...(inputs.labels ? { loss: tokenCrossEntropy(logits, inputs.labels) } : {}), ...encoderExtras(out) };
  }
}

export class ModelForMaskedLM<C extends ModelConfig> extends PreTrainedModel<C, ModelInputs, ModelOutput> {
  readonly backbone: Backbone;
  readonly head: MaskedLMHead;
  constructor(family: Family<C>, config: C, seed: number) {
    super(family, config, seed);
    this.backbone = family.backbone(this.store, family.prefix, config, false);
    this.head = family.maskedLM(this.store.scope(''), config, this.backbone.wordEmbeddings);
  }

  forward(inputs: ModelInputs, options: ForwardOptions = {}): ModelOutput {
    const { out, ctx } = this.encode(this.backbone, inputs, options);
    const [b, s] = out.lastHiddenState.shape;
    const logits = tf.reshape(this.head(flat(out.lastHiddenState), ctx), [b, s, this.config.vocabSize]) as tf.Tensor3D; // [B, S, V]
    return { logits, ...(inputs.labels ? { loss: tokenCrossEntropy(logits, inputs.labels) } : {}), ...encoderExtras(out) };
  }
}

export class ModelForQuestionAnswering<C extends ModelConfig> extends PreTrainedModel<C, QuestionAnsweringInputs, QuestionAnsweringOutput> {
  readonly backbone: Backbone;
  readonly qaOutputs: Linear;
  constructor(family: Family<C>, config: C, seed: number) {
    super(family, config, seed);
    this.backbone = family.backbone(this.store, family.prefix, config, false);
    this.qaOutputs = this.store.scope('').linear('qa_outputs', this.backbone.hiddenSize, 2);
  }

  forward(inputs: QuestionAnsweringInputs, options: ForwardOptions = {}): QuestionAnsweringOutput {
    const { out, ctx } = this.encode(this.backbone, inputs, options);
    const [b, s] = out.lastHiddenState.shape;
    const h = ctx.dropout(flat(out.lastHiddenState), this.family.qaDropout(this.config));
    const logits = tf.reshape(linear(h, this.qaOutputs), [b, s, 2]) as tf.Tensor3D; // [B, S, 2]
    const [start, end] = tf.split(logits, 2, 2).map((t) => tf.reshape(t, [b, s]) as tf.Tensor2D) as [tf.Tensor2D, tf.Tensor2D];
    const { startPositions: sp, endPositions: ep } = inputs;
    return {
      logits,
      startLogits: start,
      endLogits: end,
      ...(sp && ep ? { loss: questionAnsweringLoss(start, end, sp, ep) } : {}),
      ...encoderExtras(out),
    };
  }
}
