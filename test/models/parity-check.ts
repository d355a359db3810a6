// The parity fixtures (test/fixtures/parity/SPEC.md) and the check of a forward report against one,
// shared by the per-backend parity test and the webgpu acceptance test (which goes through the CLI).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ForwardReport, InputsJson } from '@distillery/models';
import { expectClose, type Tolerance } from './compare.js';

export const DIR = process.env.DISTILLERY_PARITY_DIR ?? new URL('../fixtures/parity/', import.meta.url).pathname;
export const CASES = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'config.json')) && existsSync(join(DIR, d, 'expected.json'))).sort();

/** SPEC.md's table, used where a case's expected.json omits a tolerance. */
const DEFAULT_TOLERANCE: Record<string, Tolerance> = {
  logits: { atol: 1e-4, rtol: 1e-4 },
  loss: { atol: 1e-5, rtol: 1e-4 },
  hidden_states: { atol: 1e-4, rtol: 1e-4 },
  attentions: { atol: 1e-5, rtol: 1e-4 },
};

export interface Expected {
  logits: unknown;
  loss?: number;
  hidden_states: unknown[];
  attentions: unknown[];
  gradients?: Record<string, { shape: number[]; values: unknown }>;
  extras?: { pooled_output?: unknown; embedding_output?: unknown; position_ids?: unknown };
  tolerance?: Record<string, { atol: number | Record<string, number>; rtol: number }>;
}

function tolerance(e: Expected, key: string): Tolerance {
  const t = e.tolerance?.[key];
  return t && typeof t.atol === 'number' ? { atol: t.atol, rtol: t.rtol } : DEFAULT_TOLERANCE[key]!;
}

function gradTolerance(e: Expected, name: string, values: unknown): Tolerance {
  const t = e.tolerance?.gradients;
  const atol = t && typeof t.atol === 'object' ? t.atol[name] : undefined;
  const max = Math.max(...(values as number[]).flat(4).map((v) => Math.abs(v as number)));
  return { atol: atol ?? 1e-3 * max, rtol: t?.rtol ?? 1e-3 };
}

/** The case's expected.json and inputs.json. */
export function readCase(name: string): { dir: string; expected: Expected; inputs: InputsJson } {
  const dir = join(DIR, name);
  return {
    dir,
    expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected,
    inputs: JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as InputsJson,
  };
}

/** Every field of `report` against `expected`, within the case's (or SPEC.md's) tolerances. */
export function expectParity(report: ForwardReport, expected: Expected): void {
  expectClose(report.logits, expected.logits, tolerance(expected, 'logits'), 'logits');
  if (expected.loss !== undefined) expectClose(report.loss, expected.loss, tolerance(expected, 'loss'), 'loss');
  expect(report.hidden_states).toHaveLength(expected.hidden_states.length);
  expected.hidden_states.forEach((h, i) => expectClose(report.hidden_states[i], h, tolerance(expected, 'hidden_states'), `hidden_states[${i}]`));
  expect(report.attentions).toHaveLength(expected.attentions.length);
  expected.attentions.forEach((a, i) => expectClose(report.attentions[i], a, tolerance(expected, 'attentions'), `attentions[${i}]`));
  for (const [param, g] of Object.entries(expected.gradients ?? {})) {
    expect(report.gradients[param]!.shape).toEqual(g.shape);
    expectClose(report.gradients[param]!.values, g.values, gradTolerance(expected, param, g.values), `gradients.${param}`);
  }

  const extras = expected.extras ?? {};
  if (extras.pooled_output !== undefined) expectClose(report.extras.pooled_output, extras.pooled_output, tolerance(expected, 'hidden_states'), 'extras.pooled_output');
  if (extras.embedding_output !== undefined) expectClose(report.extras.embedding_output, extras.embedding_output, tolerance(expected, 'hidden_states'), 'extras.embedding_output');
  if (extras.position_ids !== undefined) expect(report.extras.position_ids).toEqual(extras.position_ids);
}
