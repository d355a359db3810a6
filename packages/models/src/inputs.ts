/**
 * The model I/O contract (docs/design.md) and input validation: bad shapes, dtypes or ids are a
 * typed INPUT_INVALID naming the field, never an index error deep inside tfjs.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryModelsError } from './errors.js';
import { hostValues } from './host.js';
import type { EncoderOutput, OutputRequest } from './transformer.js';

export interface ModelInputs {
  /** [B, S] int32 token ids. */
  inputIds: tf.Tensor2D;
  /** [B, S], 1 = token, 0 = pad (default all ones). */
  attentionMask?: tf.Tensor2D;
  /** [B, S] segment ids (default zeros; ignored by DistilBERT). */
  tokenTypeIds?: tf.Tensor2D;
  /** [B] int32 classes, [B] float32 regression targets, [B, C] float32 multi-label, [B, S] int32 MLM/token labels (-100 = ignore). */
  labels?: tf.Tensor;
}

export interface QuestionAnsweringInputs extends ModelInputs {
  /** [B] int32 answer start/end token indices; out-of-range positions are ignored as in HF. */
  startPositions?: tf.Tensor1D;
  endPositions?: tf.Tensor1D;
}

export interface ForwardOptions extends OutputRequest {
  /** Dropout on (default false). */
  training?: boolean;
  /** Seeds the dropout masks so a step is reproducible. */
  seed?: number;
}

export interface BaseModelOutput extends EncoderOutput {
  /** tanh(pooler(h[:, 0])) `[B, H]` for families and classes with a pooler. */
  poolerOutput?: tf.Tensor2D;
}

export interface ModelOutput {
  /** [B, C] (sequence cls) | [B, S, V] (MLM) | [B, S, C] (token cls) | [B, S, 2] (QA). */
  logits: tf.Tensor;
  loss?: tf.Scalar;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
  attentionScores?: tf.Tensor4D[];
}

export interface SequenceClassifierOutput extends ModelOutput {
  logits: tf.Tensor2D;
  /** The pooler output the classifier read (BERT, ALBERT). */
  pooledOutput?: tf.Tensor2D;
}

export interface QuestionAnsweringOutput extends ModelOutput {
  logits: tf.Tensor3D;
  startLogits: tf.Tensor2D;
  endLogits: tf.Tensor2D;
}

/** Inputs after validation, flattened to the `[N = B·S]` layout the encoder uses. */
export interface EncoderInputs {
  batch: number;
  seqLen: number;
  /** [N] int32. */
  ids: tf.Tensor1D;
  /** The same ids on the host (position ids are computed from them). */
  idsData: Int32Array;
  /** [B, S] float32. */
  mask: tf.Tensor2D;
  /** Whether the mask hides any position (read on the host, so the encoder need not read the device). */
  padded: boolean;
  /** [N] int32, undefined when not given (the model uses zeros). */
  tokenTypes?: tf.Tensor1D;
}

function bad(field: string, msg: string): never {
  throw new DistilleryModelsError('INPUT_INVALID', `inputs.${field}: ${msg}`);
}

function checkIds(t: tf.Tensor, field: string, limit: number, limitName: string): Int32Array {
  if (t.dtype !== 'int32') bad(field, `dtype is ${t.dtype}; pass int32 (tf.tensor2d(ids, shape, 'int32')).`);
  const data = hostValues(t, `inputs.${field}`) as Int32Array;
  for (const id of data) {
    if (id < 0 || id >= limit) bad(field, `holds id ${id}, outside [0, ${limit}) set by ${limitName}; check that the tokenizer matches the model.`);
  }
  return data;
}

/** Validate and flatten inputs. `typeVocabSize` 0 means the family has no token types. */
export function prepareInputs(inputs: ModelInputs, vocabSize: number, typeVocabSize: number): EncoderInputs {
  if (typeof inputs !== 'object' || inputs === null) throw new DistilleryModelsError('INPUT_INVALID', `forward(inputs): expects { inputIds, attentionMask?, tokenTypeIds? } (int32 tensors), got ${inputs === null ? 'null' : typeof inputs}.`);
  const { inputIds, attentionMask, tokenTypeIds } = inputs;
  if (!(inputIds instanceof tf.Tensor) || inputIds.rank !== 2) bad('inputIds', `must be a [batch, seqLen] int32 tensor, got ${inputIds instanceof tf.Tensor ? `shape [${inputIds.shape.join(', ')}]` : typeof inputIds}.`);
  const [batch, seqLen] = inputIds.shape;
  if (batch === 0 || seqLen === 0) bad('inputIds', `shape [${batch}, ${seqLen}] is empty.`);
  const sameShape = (t: tf.Tensor, field: string): void => {
    if (t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== seqLen) bad(field, `shape [${t.shape.join(', ')}] must equal inputIds' [${batch}, ${seqLen}].`);
  };
  const idsData = checkIds(inputIds, 'inputIds', vocabSize, 'vocab_size');
  let mask: tf.Tensor2D;
  let padded = false;
  if (attentionMask) {
    sameShape(attentionMask, 'attentionMask');
    padded = hostValues(attentionMask, 'inputs.attentionMask').some((m) => m !== 1);
    mask = tf.cast(attentionMask, 'float32');
  } else {
    mask = tf.ones([batch, seqLen]);
  }
  let tokenTypes: tf.Tensor1D | undefined;
  if (tokenTypeIds && typeVocabSize > 0) {
    sameShape(tokenTypeIds, 'tokenTypeIds');
    checkIds(tokenTypeIds, 'tokenTypeIds', typeVocabSize, 'type_vocab_size');
    tokenTypes = tf.reshape(tokenTypeIds, [-1]);
  }
  return { batch, seqLen, ids: tf.reshape(inputIds, [-1]), idsData, mask, padded, ...(tokenTypes ? { tokenTypes } : {}) };
}
