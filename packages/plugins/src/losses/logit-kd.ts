/**
 * Prediction-layer distillation (Hinton et al. 2015), the seed's `DistillationLoss`:
 * `α · KL(softmax(t/T) ‖ softmax(s/T)) · T² + (1 − α) · CE(s, labels)`.
 * Per-token logits (token classification, MLM) are rows of classes with padding and `-100`
 * labels masked; question-answering start/end logits are distributions over positions.
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
 * (`batchmean`), times T² so gradient magnitudes do not shrink as T grows. With `rowMask`
 * (`[N]` or any shape of N elements, 1 = keep) only kept rows count, in the sum and the count.
 */
export function softTargetKlLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, temperature: number, rowMask?: tf.Tensor): tf.Scalar {
  checkSameShape(studentLogits, teacherLogits, 'softTargetKlLoss');
  return tf.tidy(() => {
    const s = rows(studentLogits);
    const t = rows(teacherLogits);
    const logQ = tf.logSoftmax(tf.div(s, temperature)); // [N, C] student log-probs
    const logP = tf.logSoftmax(tf.div(t, temperature)); // [N, C] teacher log-probs
    const perRow = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1); // [N]
    if (rowMask === undefined) return tf.mul(tf.div(tf.sum(perRow), s.shape[0]), temperature * temperature);
    const keep = tf.reshape(tf.cast(rowMask, 'float32'), [-1]);
    return tf.mul(tf.div(tf.sum(tf.mul(perRow, keep)), tf.maximum(tf.sum(keep), 1)), temperature * temperature);
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

/**
 * What the logits score:
 * - `sequence`: `[B, C]`, one row per example.
 * - `token`: `[B, S, C]` (token classification, MLM); rows at padding (`attentionMask` 0) and at
 *   labels `-100` are left out of both terms, as DistilBERT's MLM distillation does.
 * - `span`: question answering `[B, S, 2]`; start and end logits are each a distribution over
 *   positions (padding masked), distilled and scored apart and averaged; labels `[B, 2]` hold
 *   (start, end) positions, `-100` to ignore.
 */
export type LogitTarget = 'sequence' | 'token' | 'span';

export interface LogitKdOptions {
  kind?: LogitKdKind;
  /** Softmax temperature (kind `kl`). Default 4, as the seed. */
  temperature?: number;
  /** Weight of the soft term; `1 − alpha` weighs the hard-label term. Default 0.5, as the seed. */
  alpha?: number;
  /** Default: `sequence` for rank-2 logits, `token` for rank 3; `span` must be asked for. */
  target?: LogitTarget;
  /** `[B, S]` padding mask for the `token` and `span` targets. */
  attentionMask?: tf.Tensor;
}

export interface LogitKdTerms {
  soft: tf.Scalar;
  /** Present when labels were given. */
  hard?: tf.Scalar;
  /** `α · soft + (1 − α) · hard`, or `soft` alone without labels. */
  total: tf.Scalar;
}

/** Logits far below any real one: a padded position gets probability 0 for teacher and student alike. */
const MASKED_LOGIT = -1e9;

/** `[B, S, 2]` span logits → `[2B, S]` rows (starts, then ends), padding pushed to −∞; labels `[B, 2]` → `[2B]`. */
function spanRows(logits: tf.Tensor, attentionMask: tf.Tensor | undefined): tf.Tensor2D {
  if (logits.rank !== 3 || logits.shape[2] !== 2) {
    throw new DistilleryPluginsError('SHAPE_MISMATCH', `logit KD (span): expected question-answering logits [B, S, 2], got [${logits.shape.join(', ')}].`);
  }
  const [b, s] = logits.shape as [number, number, number];
  const byEnd = tf.reshape(tf.transpose(logits, [2, 0, 1]), [2 * b, s]); // [2B, S]
  if (attentionMask === undefined) return byEnd as tf.Tensor2D;
  const pad = tf.tile(tf.sub(1, tf.cast(attentionMask, 'float32')), [2, 1]); // [2B, S]
  return tf.add(byEnd, tf.mul(pad, MASKED_LOGIT)) as tf.Tensor2D;
}

/** The combined prediction-layer loss and its two parts (for separate logging). */
export function logitKdLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, labels: tf.Tensor | undefined, options: LogitKdOptions = {}): LogitKdTerms {
  const kind = options.kind ?? 'kl';
  const temperature = options.temperature ?? 4;
  const alpha = options.alpha ?? 0.5;
  const target = options.target ?? (studentLogits.rank === 3 ? 'token' : 'sequence');
  if (!(temperature > 0)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `logit KD: temperature must be > 0, got ${temperature}.`);
  if (!(alpha >= 0 && alpha <= 1)) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `logit KD: alpha must lie in [0, 1], got ${alpha}.`);
  if (target !== 'sequence' && kind === 'regression') throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `logit KD: kind "regression" scores one output per example; target "${target}" needs kind "kl" or "mse".`);
  checkSameShape(studentLogits, teacherLogits, `logit KD (${kind})`);
  if (kind === 'regression' && labels !== undefined && labels.size !== studentLogits.size) {
    throw new DistilleryPluginsError('LABELS_MISMATCH', `logit KD (regression): ${labels.size} labels for logits [${studentLogits.shape.join(', ')}]; pass one float label per output.`);
  }
  if (target === 'span' && labels !== undefined && labels.size !== 2 * studentLogits.shape[0]!) {
    throw new DistilleryPluginsError('LABELS_MISMATCH', `logit KD (span): labels [${labels.shape.join(', ')}] for ${studentLogits.shape[0]} examples; pass [B, 2] (start, end) token positions.`);
  }
  return tf.tidy(() => {
    const span = target === 'span';
    const s = span ? spanRows(studentLogits, options.attentionMask) : studentLogits;
    const t = span ? spanRows(teacherLogits, options.attentionMask) : teacherLogits;
    const y = span && labels !== undefined ? tf.reshape(tf.transpose(labels), [-1]) : labels; // [2B]: starts, then ends
    const keep = target === 'token' ? tokenRows(options.attentionMask, labels, studentLogits) : undefined;
    const soft = kind === 'kl'
      ? softTargetKlLoss(s, t, temperature, keep)
      : span ? mseLoss(studentLogits, teacherLogits, options.attentionMask && tf.expandDims(options.attentionMask, -1)) : mseLoss(s, t, keep && tf.expandDims(tf.reshape(keep, s.shape.slice(0, -1)), -1));
    if (y === undefined) return { soft, total: soft };
    const hard = kind === 'regression'
      ? mseLoss(tf.reshape(studentLogits, [-1]), tf.reshape(tf.cast(y, 'float32'), [-1]))
      : crossEntropyLoss(s, y);
    const total = tf.add(tf.mul(soft, alpha), tf.mul(hard, 1 - alpha)) as tf.Scalar;
    return { soft, hard, total };
  });
}

/** Rows a per-token soft loss keeps: tokens (not padding) whose label, when there are labels, is not `-100`. */
function tokenRows(attentionMask: tf.Tensor | undefined, labels: tf.Tensor | undefined, logits: tf.Tensor): tf.Tensor | undefined {
  const perToken = labels !== undefined && labels.size === logits.size / logits.shape[logits.rank - 1]!;
  const fromLabels = perToken ? tf.cast(tf.notEqual(tf.reshape(tf.cast(labels, 'int32'), [-1]), IGNORE_INDEX), 'float32') : undefined;
  const fromMask = attentionMask ? tf.reshape(tf.cast(attentionMask, 'float32'), [-1]) : undefined;
  return fromLabels && fromMask ? tf.mul(fromLabels, fromMask) : fromLabels ?? fromMask;
}

/** Floor of the averaged probabilities: a position no teacher gives any mass (padding) keeps a finite log. */
const MIN_PROBABILITY = 1e-30;

/**
 * Several teachers as one: logits whose softmax at `temperature` is the weighted average of
 * the teachers' soft labels, `T · log Σ_k w_k softmax(t_k / T)` (kind `kl`), or the weighted
 * average of raw logits (kinds `mse` / `regression`). `weights` must sum to 1. For `span`
 * logits `[B, S, 2]` the soft labels are the start and end distributions over positions,
 * padding (`attentionMask` 0) left out.
 */
export function combineTeacherLogits(teacherLogits: readonly tf.Tensor[], weights: readonly number[], kind: LogitKdKind, temperature: number, options: { target?: LogitTarget; attentionMask?: tf.Tensor } = {}): tf.Tensor {
  if (teacherLogits.length === 1) return teacherLogits[0]!;
  return tf.tidy(() => {
    if (kind !== 'kl') return tf.addN(teacherLogits.map((t, k) => tf.mul(t, weights[k]!)));
    const span = options.target === 'span';
    // Span logits average over positions: [B, S, 2] → [B, 2, S] (padding pushed to −∞) and back.
    const classesLast = (t: tf.Tensor) => {
      if (!span) return t;
      const masked = options.attentionMask ? tf.add(t, tf.mul(tf.expandDims(tf.sub(1, tf.cast(options.attentionMask, 'float32')), -1), MASKED_LOGIT)) : t;
      return tf.transpose(masked, [0, 2, 1]);
    };
    const probs = tf.addN(teacherLogits.map((t, k) => tf.mul(tf.softmax(tf.div(classesLast(t), temperature)), weights[k]!)));
    const combined = tf.mul(tf.log(tf.maximum(probs, MIN_PROBABILITY)), temperature);
    return span ? tf.transpose(combined, [0, 2, 1]) : combined;
  });
}
