// Elementwise comparison as SPEC.md defines it: |actual - expected| <= atol + rtol·|expected|.
import { expect } from 'vitest';

export interface Tolerance {
  atol: number;
  rtol: number;
}

function shapeOf(x: unknown): number[] {
  const shape: number[] = [];
  let cur = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

/** Asserts shape equality and the tolerance everywhere; the failure names the worst element. */
export function expectClose(actual: unknown, expected: unknown, tol: Tolerance, what: string): void {
  expect(shapeOf(actual), `${what} shape`).toEqual(shapeOf(expected));
  const a = [actual].flat(Infinity) as number[];
  const e = [expected].flat(Infinity) as number[];
  let worst = { index: -1, excess: 0, actual: 0, expected: 0 };
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (tol.atol + tol.rtol * Math.abs(e[i]!));
    if (!(excess <= worst.excess)) worst = { index: i, excess, actual: a[i]!, expected: e[i]! };
  }
  expect(worst.index, `${what}: element ${worst.index} is ${worst.actual}, expected ${worst.expected} (atol ${tol.atol}, rtol ${tol.rtol})`).toBe(-1);
}
