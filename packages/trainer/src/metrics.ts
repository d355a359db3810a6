/**
 * What `computeMetrics` receives, and the usual metric helpers (accuracy, precision, recall,
 * F1, MSE) on plain arrays, with sklearn's definitions (0 when a ratio's denominator is 0).
 */
import { DistilleryTrainerError } from './errors.js';

export interface EvalPrediction {
  /** Logits per example: [C] for sequence-level heads, [S][C] for per-token heads (S = the example's own length). */
  predictions: (number[] | number[][])[];
  /** Labels per example (number, or per-token with -100 = ignored); null when the dataset has none. */
  labelIds: (number | readonly number[])[] | null;
}

function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** Class ids (argmax of the logits) and labels as flat aligned arrays, ignored tokens dropped. */
export function argmaxPredictions(p: EvalPrediction): { predicted: number[]; labels: number[] } {
  if (!p.labelIds) throw new DistilleryTrainerError('DATASET_INVALID', 'computeMetrics: the eval dataset has no labels; add label/labels to its examples.');
  const predicted: number[] = [];
  const labels: number[] = [];
  p.predictions.forEach((pred, i) => {
    const label = p.labelIds![i]!;
    if (typeof label === 'number') {
      predicted.push(argmax(pred as number[]));
      labels.push(label);
      return;
    }
    label.forEach((l, t) => {
      if (l === -100) return;
      predicted.push(argmax((pred as number[][])[t]!));
      labels.push(l);
    });
  });
  return { predicted, labels };
}

function sameLength(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new DistilleryTrainerError('DATASET_INVALID', `metric inputs differ in length (${a.length} predictions, ${b.length} labels); pass aligned arrays.`);
}

export function accuracy(predicted: readonly number[], labels: readonly number[]): number {
  sameLength(predicted, labels);
  if (labels.length === 0) return 0;
  return predicted.filter((p, i) => p === labels[i]).length / labels.length;
}

export interface AverageOptions {
  /** binary: the positive class only; macro: unweighted mean over classes; micro: global counts. */
  average?: 'binary' | 'macro' | 'micro';
  posLabel?: number;
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

function perClass(predicted: readonly number[], labels: readonly number[], options: AverageOptions): { tp: number; fp: number; fn: number }[] {
  sameLength(predicted, labels);
  const average = options.average ?? 'binary';
  const classes = average === 'binary' ? [options.posLabel ?? 1] : [...new Set([...labels, ...predicted])].sort((a, b) => a - b);
  return classes.map((c) => {
    let tp = 0, fp = 0, fn = 0;
    predicted.forEach((p, i) => {
      const l = labels[i];
      if (p === c && l === c) tp++;
      else if (p === c) fp++;
      else if (l === c) fn++;
    });
    return { tp, fp, fn };
  });
}

function averaged(counts: { tp: number; fp: number; fn: number }[], options: AverageOptions, score: (c: { tp: number; fp: number; fn: number }) => number): number {
  if (options.average === 'micro') {
    const sum = counts.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn }), { tp: 0, fp: 0, fn: 0 });
    return score(sum);
  }
  return counts.length === 0 ? 0 : counts.reduce((a, c) => a + score(c), 0) / counts.length;
}

export function precision(predicted: readonly number[], labels: readonly number[], options: AverageOptions = {}): number {
  return averaged(perClass(predicted, labels, options), options, (c) => ratio(c.tp, c.tp + c.fp));
}

export function recall(predicted: readonly number[], labels: readonly number[], options: AverageOptions = {}): number {
  return averaged(perClass(predicted, labels, options), options, (c) => ratio(c.tp, c.tp + c.fn));
}

export function f1(predicted: readonly number[], labels: readonly number[], options: AverageOptions = {}): number {
  return averaged(perClass(predicted, labels, options), options, (c) => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn));
}

export function mse(predictions: readonly number[], labels: readonly number[]): number {
  sameLength(predictions, labels);
  if (labels.length === 0) return 0;
  return predictions.reduce((a, p, i) => a + (p - labels[i]!) ** 2, 0) / labels.length;
}
