/** Shared by the plugins tests: fixture loading and the SPEC's elementwise tolerance check. */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { BertForSequenceClassification, readSafetensors } from '@distillery/models';
import { LinearProjection, type DistillBatch } from '@distillery/plugins';
import { expect } from 'vitest';
import { Rng, type Example } from '@distillery/trainer';

export const DISTILL_DIR = new URL('../fixtures/parity/distill_losses/', import.meta.url).pathname;

/** The public fixture plus any holdout folders in DISTILL_PARITY_DIRS (colon-separated), each ending in `/`. */
export const DISTILL_DIRS = [DISTILL_DIR, ...(process.env.DISTILL_PARITY_DIRS ?? '').split(':').filter(Boolean).map((d) => (d.endsWith('/') ? d : `${d}/`))];

type Nested = number | Nested[];

export interface ModelOutputsJson {
  logits: number[][];
  hidden_states: Nested[];
  attentions: Nested[];
}

export interface DistillExpected {
  temperature: number;
  alpha: number;
  hidden_layer_map: Array<[number, number]>;
  attention_layer_map: Array<[number, number]>;
  losses: Record<'kd_soft' | 'ce_hard' | 'kd_combined' | 'hidden_mse' | 'attention_mse' | 'total' | 'total_soft_only', number>;
  loss_terms: { hidden_mse_per_pair: number[]; attention_mse_per_pair: number[] };
  gradients: Record<'total' | 'total_soft_only', Record<string, { shape: number[]; values: Nested }>>;
  teacher: ModelOutputsJson;
  student: ModelOutputsJson;
  tolerance: { losses: { atol: number; rtol: number }; gradients: { rtol: number; atol: Record<'total' | 'total_soft_only', Record<string, number>> } };
}

export interface DistillInputs {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  labels: number[];
  temperature: number;
  alpha: number;
  hidden_layer_map: Array<[number, number]>;
  attention_layer_map: Array<[number, number]>;
}

export function loadDistillFixture(dir = DISTILL_DIR): { expected: DistillExpected; inputs: DistillInputs } {
  return {
    expected: JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as DistillExpected,
    inputs: JSON.parse(readFileSync(`${dir}inputs.json`, 'utf8')) as DistillInputs,
  };
}

/** The fixture's teacher and student (both BertForSequenceClassification, checked) and its batch. */
export async function loadDistillModels(dir: string, inputs: DistillInputs): Promise<{ teacher: BertForSequenceClassification; student: BertForSequenceClassification; batch: DistillBatch }> {
  for (const who of ['teacher', 'student']) {
    const arch = (JSON.parse(readFileSync(`${dir}${who}/config.json`, 'utf8')) as { architectures: string[] }).architectures[0];
    expect(arch, `${who} architecture`).toBe('BertForSequenceClassification');
  }
  return {
    teacher: await BertForSequenceClassification.fromPretrained(`${dir}teacher`, { log: false }),
    student: await BertForSequenceClassification.fromPretrained(`${dir}student`, { log: false }),
    batch: {
      inputIds: tf.tensor2d(inputs.input_ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(inputs.attention_mask, undefined, 'int32'),
      tokenTypeIds: tf.tensor2d(inputs.token_type_ids, undefined, 'int32'),
      labels: tf.tensor1d(inputs.labels, 'int32'),
    },
  };
}

/** The fixture's projector loaded into a `LinearProjection` named `projector`. */
export function loadProjector(dir = DISTILL_DIR): LinearProjection {
  const file = readSafetensors(`${dir}projector.safetensors`);
  const w = file.tensors.get('projector.weight')!;
  const b = file.tensors.get('projector.bias')!;
  const p = new LinearProjection('projector', w.shape[1]!, w.shape[0]!);
  p.weight.assign(tf.tensor(w.data, w.shape as [number, number]));
  p.bias.assign(tf.tensor(b.data, b.shape as [number]));
  return p;
}

export function flat(x: Nested): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x];
}

/** `|actual − expected| ≤ atol + rtol·|expected|` elementwise, reporting the worst element. */
export function expectClose(actual: ArrayLike<number> | number, expected: Nested, atol: number, rtol: number, what: string): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = flat(expected);
  expect(a.length, `${what}: element count`).toBe(e.length);
  let worst = -Infinity;
  let at = -1;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= worst)) { worst = excess; at = i; }
  }
  expect(worst, `${what}: element ${at} actual ${a[at]} expected ${e[at]}`).toBeLessThanOrEqual(0);
}

/** Token-detection sequences over the fixtures' vocab: label 1 iff one of a few "keyword" tokens occurs (about half the rows). */
export function keywordTask(n: number, seed: number): Example[] {
  const rng = new Rng(seed);
  const keywords = [7, 8, 9];
  return Array.from({ length: n }, () => {
    const body = Array.from({ length: 6 + Math.floor(rng.next() * 6) }, () => 10 + Math.floor(rng.next() * 89));
    if (rng.next() < 0.5) body[Math.floor(rng.next() * body.length)] = keywords[Math.floor(rng.next() * keywords.length)]!;
    return { inputIds: [2, ...body, 3], label: body.some((t) => keywords.includes(t)) ? 1 : 0 };
  });
}
