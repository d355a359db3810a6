/**
 * A teacher with its own tokenizer. Sequence-level outputs (one row of logits per example:
 * classification, regression) mean the same thing whatever the tokenization, so the teacher
 * encodes each example's raw text (`Example.text`, carried to `DistillBatch.texts`; sentence pairs
 * with `Example.textPair`) with its own tokenizer while the student reads its own ids. Token-level outputs (hidden states, attentions,
 * per-token logits) have no position-by-position counterpart across vocabularies: refused.
 */
import * as tf from '@tensorflow/tfjs';
import { encodingToTensors, type AutoTokenizer } from '@distillery/models';
import { DistilleryPluginsError } from './errors.js';
import type { DistillBatch, DistillForwardOptions, DistillModel } from './objective.js';
import type { DistillOutputs } from './plugin.js';

export interface CrossTokenizerTeacherOptions {
  /** Longest teacher encoding (tokens incl. specials); default the tokenizer's model_max_length. */
  maxLength?: number;
}

export class CrossTokenizerTeacher implements DistillModel {
  readonly config: unknown;

  constructor(
    readonly teacher: DistillModel,
    readonly tokenizer: AutoTokenizer,
    private readonly options: CrossTokenizerTeacherOptions = {},
  ) {
    this.config = teacher.config;
  }

  namedParameters(): Map<string, tf.Variable> {
    return this.teacher.namedParameters();
  }

  forward(batch: DistillBatch, options: DistillForwardOptions): DistillOutputs {
    const layers = (['outputHiddenStates', 'outputAttentions', 'outputAttentionScores'] as const).filter((k) => options[k]);
    if (layers.length > 0) {
      throw new DistilleryPluginsError('VOCAB_MISMATCH', `the teacher uses another tokenizer (${this.tokenizer.dir}): its layers (asked: ${layers.join(', ')}) cover other tokens than the student's, so token-level plugins (hidden, attention, cosine, patient, MiniLM, TinyBERT) cannot pair them. Use sequence-level plugins (logitKd) or a teacher with the student's tokenizer.`);
    }
    const texts = batch.texts;
    if (texts === undefined || texts.length !== batch.inputIds.shape[0]) {
      throw new DistilleryPluginsError('DATA_INVALID', `the teacher uses another tokenizer (${this.tokenizer.dir}), so it reads each example's raw text: keep "text" on every training example (the CLI does for {"text", "label"} rows); pre-tokenized rows cannot be re-encoded.`);
    }
    const pairs = batch.textPairs;
    // The tokenizer encodes a batch as all singles or all pairs.
    if (pairs !== undefined && !pairs.every((p): p is string => p !== undefined)) {
      throw new DistilleryPluginsError('DATA_INVALID', `the teacher uses another tokenizer (${this.tokenizer.dir}) and a batch mixes sentence pairs (textPair) with single texts; give every example a textPair or none.`);
    }
    const encoded = encodingToTensors(this.tokenizer.encode([...texts], { padding: true, truncation: true, ...(pairs && { textPairs: [...pairs] }), ...(this.options.maxLength !== undefined && { maxLength: this.options.maxLength }) }));
    const out = this.teacher.forward(encoded, { training: false });
    tf.dispose([encoded.inputIds, encoded.attentionMask, encoded.tokenTypeIds]);
    if (out.logits.rank !== 2) {
      throw new DistilleryPluginsError('VOCAB_MISMATCH', `the teacher uses another tokenizer (${this.tokenizer.dir}) and returns per-token logits [${out.logits.shape.join(', ')}]; those cannot be compared across tokenizations. Only sequence-level heads (classification, regression) distil across tokenizers.`);
    }
    return { logits: out.logits };
  }

  dispose(): unknown {
    return (this.teacher as { dispose?: () => unknown }).dispose?.();
  }
}
