import { describe, expect, it } from 'vitest';
import { checkTargets, formatResultsTable, relativeTo } from '../../examples/demo/results.js';
import type { ModelResult } from '../../examples/demo/results.js';

const teacher: ModelResult = { name: 'teacher', accuracy: 0.98, f1: 0.96, params: 12_000_000, encoderParams: 3_000_000, msPerExample: 5 };
const alone: ModelResult = { name: 'student alone', accuracy: 0.93, f1: 0.88, params: 4_000_000, encoderParams: 400_000, msPerExample: 1.25 };
const distilled: ModelResult = { ...alone, name: 'student distilled', accuracy: 0.96, f1: 0.93 };

describe('results', () => {
  it('computes ratios against the reference', () => {
    const rel = relativeTo(teacher, distilled);
    expect(rel.accuracyRatio).toBeCloseTo(0.96 / 0.98, 12);
    expect(rel.encoderRatio).toBeCloseTo(0.4 / 3, 12);
    expect(rel.speedUp).toBeCloseTo(4, 12);
  });

  it('prints an aligned table', () => {
    const lines = formatResultsTable([teacher, alone, distilled]).split('\n');
    expect(lines).toHaveLength(5);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1); // every row padded to the same width
    expect(lines[4]).toMatch(/^student distilled\s+0\.9600\s+98\.0%\s+0\.9300\s+4,000,000\s+400,000\s+13\.3%\s+1\.25\s+4\.00×$/);
  });

  it('checks each acceptance target at its boundary', () => {
    expect(checkTargets(teacher, alone, distilled).map((c) => c.pass)).toEqual([true, true, true, true, true]);
    const weakTeacher = { ...teacher, accuracy: 0.949 };
    expect(checkTargets(weakTeacher, alone, distilled)[0]?.pass).toBe(false);
    const slow = { ...distilled, msPerExample: 2.6 }; // 1.92× only
    expect(checkTargets(teacher, alone, slow)[3]?.pass).toBe(false);
    const big = { ...distilled, encoderParams: 1_000_001 }; // just over a third
    expect(checkTargets(teacher, alone, big)[2]?.pass).toBe(false);
    const tie = { ...distilled, accuracy: alone.accuracy + 0.005 };
    const margin = checkTargets(teacher, alone, tie)[4]!;
    expect(margin.pass).toBe(false);
    expect(margin.line).toContain('accuracy +0.5 points');
  });
});
