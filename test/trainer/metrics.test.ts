import { describe, expect, it } from 'vitest';
import { accuracy, argmaxPredictions, f1, mse, precision, recall } from '@distillery/trainer';

describe('metrics (sklearn definitions)', () => {
  const pred = [1, 0, 1, 1, 0, 2];
  const gold = [1, 1, 1, 0, 0, 2];

  it('accuracy, precision, recall, F1 (binary / macro / micro), MSE', () => {
    expect(accuracy(pred, gold)).toBeCloseTo(4 / 6, 12);
    // class 1: tp 2, fp 1, fn 1
    expect(precision(pred, gold)).toBeCloseTo(2 / 3, 12);
    expect(recall(pred, gold)).toBeCloseTo(2 / 3, 12);
    expect(f1(pred, gold)).toBeCloseTo(2 / 3, 12);
    // class 0: p 1/2 r 1/2; class 1: 2/3, 2/3; class 2: 1, 1
    expect(f1(pred, gold, { average: 'macro' })).toBeCloseTo((0.5 + 2 / 3 + 1) / 3, 12);
    expect(precision(pred, gold, { average: 'micro' })).toBeCloseTo(4 / 6, 12);
    expect(recall([0, 0], [1, 1])).toBe(0);
    expect(mse([1, 2, 3], [1, 0, 3])).toBeCloseTo(4 / 3, 12);
    expect(() => accuracy([1], [1, 2])).toThrow(/differ in length/);
  });

  it('argmaxPredictions flattens sequence and per-token predictions, dropping -100', () => {
    expect(argmaxPredictions({ predictions: [[0.1, 0.9], [2, -1]], labelIds: [1, 1] })).toEqual({ predicted: [1, 0], labels: [1, 1] });
    const tokens = argmaxPredictions({ predictions: [[[0, 1], [1, 0]], [[0, 3]]], labelIds: [[1, -100], [0]] });
    expect(tokens).toEqual({ predicted: [1, 1], labels: [1, 0] });
  });
});
