/**
 * HF's task losses: cross-entropy with ignore_index -100, BCE-with-logits, MSE, and the
 * `problem_type` dispatch of `...ForSequenceClassification`.
 */
import * as tf from '@tensorflow/tfjs';
import type { ProblemType } from './config.js';
import { DistilleryModelsError } from './errors.js';
import { hostValues } from './host.js';

export const IGNORE_INDEX = -100;

function badLabels(msg: string): never {
  throw new DistilleryModelsError('LABELS_INVALID', `inputs.labels: ${msg}`);
}

/** `logp[i, labels[i]]` for each row; the gradient is a scatter (gather's own needs UnsortedSegmentSum, missing on wasm). */
function pickColumns(logp: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  const indices = tf.stack([tf.range(0, labels.shape[0], 1, 'int32'), labels], 1) as tf.Tensor2D; // [N, 2]
  const pick = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.gatherND(x, indices), // [N]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(saved[0] as tf.Tensor2D, dy, x.shape),
    };
  });
  return pick(logp) as tf.Tensor1D;
}

/**
 * Mean cross-entropy over rows whose label is not `ignoreIndex` (torch CrossEntropyLoss).
 * logits [N, C], labels [N] int32 in [0, C) or `ignoreIndex`. Labels are checked on the host.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, ignoreIndex = IGNORE_INDEX): tf.Scalar {
  const classes = logits.shape[1];
  if (labels.dtype !== 'int32') badLabels(`dtype is ${labels.dtype}; class labels must be int32.`);
  for (const l of hostValues(labels, 'labels')) {
    if (l !== ignoreIndex && (l < 0 || l >= classes)) badLabels(`label ${l} is outside [0, ${classes}) (use ${ignoreIndex} to ignore a position); check num_labels in config.json.`);
  }
  const valid = tf.notEqual(labels, ignoreIndex); // [N]
  const safe = tf.where(valid, labels, tf.zerosLike(labels)); // ignored rows read class 0, then get weight 0
  const picked = pickColumns(tf.logSoftmax(logits), safe); // [N]
  const weight = tf.cast(valid, 'float32');
  // An all-ignored batch gives NaN (0/0), exactly as torch does.
  return tf.div(tf.neg(tf.sum(tf.mul(picked, weight))), tf.sum(weight));
}

/** torch BCEWithLogitsLoss (mean), in the stable form max(x,0) - x·y + log(1 + e^-|x|). */
export function bceWithLogits(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, labels)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))));
}

export function mse(a: tf.Tensor, b: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(a, b));
}

/** HF's problem_type inference when the config leaves it unset. */
export function inferProblemType(numLabels: number, labels: tf.Tensor): ProblemType {
  if (numLabels === 1) return 'regression';
  return labels.dtype === 'int32' ? 'single_label_classification' : 'multi_label_classification';
}

/** `...ForSequenceClassification` loss for logits [B, C]. */
export function sequenceClassificationLoss(logits: tf.Tensor2D, labels: tf.Tensor, numLabels: number, problemType?: ProblemType): tf.Scalar {
  const [batch] = logits.shape;
  if (labels.shape[0] !== batch) badLabels(`has ${labels.shape[0]} rows but the batch has ${batch}.`);
  switch (problemType ?? inferProblemType(numLabels, labels)) {
    case 'regression': {
      const y = tf.cast(labels, 'float32');
      // HF squeezes both sides when num_labels == 1: logits [B,1] vs labels [B].
      return numLabels === 1 ? mse(tf.reshape(logits, [-1]), tf.reshape(y, [-1])) : mse(logits, y);
    }
    case 'single_label_classification':
      if (labels.size !== batch) badLabels(`shape [${labels.shape.join(', ')}] must be [${batch}] class ids for single-label classification.`);
      return crossEntropy(logits, tf.reshape(labels, [-1]));
    case 'multi_label_classification':
      if (labels.rank !== 2 || labels.shape[1] !== numLabels) badLabels(`shape [${labels.shape.join(', ')}] must be [${batch}, ${numLabels}] 0/1 targets for multi-label classification.`);
      return bceWithLogits(logits, tf.cast(labels, 'float32'));
  }
}

/** Token-level cross-entropy (MLM, token classification): logits [B, S, C], labels [B, S] with -100 ignored. */
export function tokenCrossEntropy(logits: tf.Tensor3D, labels: tf.Tensor): tf.Scalar {
  const [b, s, c] = logits.shape;
  if (labels.rank !== 2 || labels.shape[0] !== b || labels.shape[1] !== s) badLabels(`shape [${labels.shape.join(', ')}] must be [${b}, ${s}] (one label per token, -100 to ignore).`);
  return crossEntropy(tf.reshape(logits, [b * s, c]), tf.reshape(labels, [-1]));
}

/**
 * HF question-answering loss: positions clamped to [0, S], where S is ignored, then
 * (CE(start) + CE(end)) / 2.
 */
export function questionAnsweringLoss(startLogits: tf.Tensor2D, endLogits: tf.Tensor2D, startPositions: tf.Tensor1D, endPositions: tf.Tensor1D): tf.Scalar {
  const s = startLogits.shape[1];
  const clampPositions = (p: tf.Tensor1D): tf.Tensor1D => tf.minimum(tf.maximum(tf.cast(p, 'int32'), tf.scalar(0, 'int32')), tf.scalar(s, 'int32'));
  return tf.div(tf.add(crossEntropy(startLogits, clampPositions(startPositions), s), crossEntropy(endLogits, clampPositions(endPositions), s)), 2);
}
