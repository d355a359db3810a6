/**
 * Prediction-layer distillation (Hinton et al. 2015), the seed's `DistillationLoss`:
 * `α · KL(softmax(t/T) ‖ softmax(s/T)) · T² + (1 − α) · CE(s, labels)`.
 * Logits of rank > 2 (token classification, MLM) are flattened to rows of classes.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { mseLoss } from './mse.js';

/** Label value that marks a position to ignore (HF convention). */
export const IGNORE_INDEX = -100;

/** `[..., C]` → `[N, C]`. */
function rows(logits: tf.Tensor): tf.Tensor2D {
  const c = logits.shape[logits.shape.length - 1]!;
  return tf.reshape(logits, [-1, c]) as tf.Tensor2D;
}

function checkSameShape(student: tf.Tensor, teacher: tf.Tensor, what: string): void {
  if (student.shape.join() !== teacher.shape.join()) {
    throw new DistilleryPluginsError(
      'SHAPE_MISMATCH',
      `${what}: student logits [${student.shape.join(', ')}] and teacher logits [${teacher.shape.join(', ')}] differ; teacher and student need the same label set (num_labels) and inputs.`,
    );
  }
}

/**
 * `KL(softmax(t/T) ‖ softmax(s/T))` summed over classes, divided by the number of rows
 * (`batchmean`), times T² so gradient magnitudes do not shrink as T grows.
 */
export function softTargetKlLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, temperature: number): tf.Scalar {
  checkSameShape(studentLogits, teacherLogits, 'softTargetKlLoss');
  return tf.tidy(() => {
    const s = rows(studentLogits);
    const t = rows(teacherLogits);
    const logQ = tf.logSoftmax(tf.div(s, temperature)); // [N, C] student log-probs
    const logP = tf.logSoftmax(tf.div(t, temperature)); // [N, C] teacher log-probs
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)));
    return tf.mul(tf.div(kl, s.shape[0]), temperature * temperature);
  });
}

/** Mean cross-entropy over rows whose label is not `IGNORE_INDEX` (HF's single-label loss). */
export function crossEntropyLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const n = logits.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  if (labels.size !== n) {
    throw new DistilleryPluginsError(
      'LABELS_MISMATCH',
      `crossEntropyLoss: ${labels.size} labels for ${n} rows of logits [${logits.shape.join(', ')}]; pass one int label per example (or per token, -100 to ignore).`,
    );
  }
  return tf.tidy(() => {
    const x = rows(logits); // [N, C]
    const y = tf.reshape(tf.cast(labels, 'int32'), [-1]); // [N]
    const keep = tf.cast(tf.notEqual(y, IGNORE_INDEX), 'float32'); // [N]
    const safe = tf.where(tf.notEqual(y, IGNORE_INDEX), y, tf.zerosLike(y));
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(safe, x.shape[1])), -1)); // [N]
    return tf.div(tf.sum(tf.mul(nll, keep)), tf.maximum(tf.sum(keep), 1));
  });
}

/**
 * How the student is pulled towards the teacher:
 * - `kl`: soft-target KL at temperature T (classification; the seed's default).
 * - `mse`: MSE between raw logits (Tang et al. 2019); T is unused.
 * - `regression`: one-output heads; MSE to the teacher's prediction, hard loss MSE to float labels.
 */
export type LogitKdKind = 'kl' | 'mse' | 'regression';

export interface LogitKdOptions {
  kind?: LogitKdKind;
  /** Softmax temperature (kind `kl`). Default 4, as the seed. */
  temperature?: number;
  /** Weight of the soft term; `1 − alpha` weighs the hard-label term. Default 0.5, as the seed. */
  alpha?: number;
}

export interface LogitKdTerms {
  soft: tf.Scalar;
  /** Present when labels were given. */
  hard?: tf.Scalar;
  /** `α · soft + (1 − α) · hard`, or `soft` alone without labels. */
  total: tf.Scalar;
}

/** The combined prediction-layer loss and its two parts (for separate logging). */
export function logitKdLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, labels: tf.Tensor | undefined, options: LogitKdOptions = {}): LogitKdTerms {
  const kind = options.kind ?? 'kl';
  const temperature = options.temperature ?? 4;
  const alpha = options.alpha ?? 0.5;
  if (!(temperature > 0)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `logit KD: temperature must be > 0, got ${temperature}.`);
  if (!(alpha >= 0 && alpha <= 1)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `logit KD: alpha must lie in [0, 1], got ${alpha}.`);
  checkSameShape(studentLogits, teacherLogits, `logit KD (${kind})`);
  if (kind === 'regression' && labels !== undefined && labels.size !== studentLogits.size) {
    throw new DistilleryPluginsError('LABELS_MISMATCH', `logit KD (regression): ${labels.size} labels for logits [${studentLogits.shape.join(', ')}]; pass one float label per output.`);
  }
  return tf.tidy(() => {
    const soft = kind === 'kl' ? softTargetKlLoss(studentLogits, teacherLogits, temperature) : mseLoss(studentLogits, teacherLogits);
    if (labels === undefined) return { soft, total: soft };
    const hard = kind === 'regression'
      ? mseLoss(tf.reshape(studentLogits, [-1]), tf.reshape(tf.cast(labels, 'float32'), [-1]))
      : crossEntropyLoss(studentLogits, labels);
    const total = tf.add(tf.mul(soft, alpha), tf.mul(hard, 1 - alpha)) as tf.Scalar;
    return { soft, hard, total };
  });
}

/**
 * Several teachers as one: logits whose softmax at `temperature` is the weighted average of
 * the teachers' soft labels, `T · log Σ_k w_k softmax(t_k / T)` (kind `kl`), or the weighted
 * average of raw logits (kinds `mse` / `regression`). `weights` must sum to 1.
 */
export function combineTeacherLogits(teacherLogits: readonly tf.Tensor[], weights: readonly number[], kind: LogitKdKind, temperature: number): tf.Tensor {
  if (teacherLogits.length === 1) return teacherLogits[0]!;
  return tf.tidy(() => {
    if (kind !== 'kl') return tf.addN(teacherLogits.map((t, k) => tf.mul(t, weights[k]!)));
    const probs = tf.addN(teacherLogits.map((t, k) => tf.mul(tf.softmax(tf.div(t, temperature)), weights[k]!)));
    return tf.mul(tf.log(probs), temperature);
  });
}
