/**
 * Start a student from its teacher's weights, as DistilBERT was made (HF's
 * `scripts/extract_distilbert.py`): the embeddings and a chosen subset of the teacher's layers
 * are copied, layer by layer, into a shallower student of the same width. Names are mapped
 * between BERT-style (`bert.encoder.layer.{i}.attention.self.query`, RoBERTa alike) and
 * DistilBERT (`distilbert.transformer.layer.{i}.attention.q_lin`) families. As the HF script
 * does, DistilBERT takes no token-type table and no pooler (it has neither); the masked-LM head
 * (transform, LayerNorm, decoder bias) is copied when both models have one. Task heads
 * (classifier, qa_outputs) keep their fresh init.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from './config.js';
import { DistilleryModelsError } from './errors.js';

/**
 * Which teacher layers the student's layers start from, in order:
 * `every-other` (0, 2, 4, …), `first-k` (0 … k−1), or explicit 0-based teacher layer indices.
 */
export type TeacherLayerSelection = 'every-other' | 'first-k' | readonly number[];

export interface InitFromTeacherReport {
  /** Teacher layer copied into student layer i. */
  teacherLayers: number[];
  /** `[student name, teacher name]` for every copied tensor. */
  copied: Array<[string, string]>;
  /** Student parameters left at their own init (task heads, a pooler the teacher lacks). */
  fresh: string[];
}

interface ModelLike {
  readonly config: ModelConfig;
  namedParameters(): Map<string, tf.Variable>;
}

/** BERT-style layer part ↔ DistilBERT layer part (weight/bias suffixes follow). */
const LAYER_PARTS: ReadonlyArray<readonly [string, string]> = [
  ['attention.self.query', 'attention.q_lin'],
  ['attention.self.key', 'attention.k_lin'],
  ['attention.self.value', 'attention.v_lin'],
  ['attention.output.dense', 'attention.out_lin'],
  ['attention.output.LayerNorm', 'sa_layer_norm'],
  ['intermediate.dense', 'ffn.lin1'],
  ['output.dense', 'ffn.lin2'],
  ['output.LayerNorm', 'output_layer_norm'],
];

/** Whole-model names outside the layers (BERT-style ↔ DistilBERT; undefined = DistilBERT has none). */
const OTHER_PARTS: ReadonlyArray<readonly [string, string | undefined]> = [
  ['embeddings.word_embeddings.weight', 'embeddings.word_embeddings.weight'],
  ['embeddings.position_embeddings.weight', 'embeddings.position_embeddings.weight'],
  ['embeddings.token_type_embeddings.weight', undefined],
  ['embeddings.LayerNorm.weight', 'embeddings.LayerNorm.weight'],
  ['embeddings.LayerNorm.bias', 'embeddings.LayerNorm.bias'],
  ['pooler.dense.weight', undefined],
  ['pooler.dense.bias', undefined],
];

/** Masked-LM head names (no backbone prefix). */
const LM_PARTS: ReadonlyArray<readonly [string, string]> = [
  ['cls.predictions.transform.dense.weight', 'vocab_transform.weight'],
  ['cls.predictions.transform.dense.bias', 'vocab_transform.bias'],
  ['cls.predictions.transform.LayerNorm.weight', 'vocab_layer_norm.weight'],
  ['cls.predictions.transform.LayerNorm.bias', 'vocab_layer_norm.bias'],
  ['cls.predictions.bias', 'vocab_projector.bias'],
];

const SUPPORTED = ['bert', 'roberta', 'distilbert'] as const;

function shapeOf(config: ModelConfig): { layers: number; width: number } {
  if (!(SUPPORTED as readonly string[]).includes(config.modelType)) {
    throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher: model_type "${config.modelType}" is not supported (${SUPPORTED.join(', ')}); ALBERT shares its layers and ELECTRA projects its embeddings, so they have no per-layer copy.`);
  }
  return config.modelType === 'distilbert' ? { layers: config.nLayers, width: config.dim } : { layers: config.numHiddenLayers, width: config.hiddenSize };
}

/**
 * Canonical (BERT-style, prefix-free) name → the model's own parameter name, for every
 * parameter that has a counterpart in the other family.
 */
function canonicalNames(model: ModelLike, layers: number): Map<string, string> {
  const params = model.namedParameters();
  const distil = model.config.modelType === 'distilbert';
  // The bare model carries no prefix; task models prefix the backbone with the family name.
  const family = distil ? 'distilbert' : model.config.modelType;
  const prefix = params.has(`${family}.embeddings.word_embeddings.weight`) ? `${family}.` : '';
  const out = new Map<string, string>();
  const add = (canonical: string, own: string | undefined): void => {
    if (own !== undefined && params.has(own)) out.set(canonical, own);
  };
  for (const [bert, d] of OTHER_PARTS) add(bert, distil ? d && `${prefix}${d}` : `${prefix}${bert}`);
  for (let i = 0; i < layers; i++) {
    for (const [bert, d] of LAYER_PARTS) {
      for (const w of ['weight', 'bias']) add(`layer.${i}.${bert}.${w}`, distil ? `${prefix}transformer.layer.${i}.${d}.${w}` : `${prefix}encoder.layer.${i}.${bert}.${w}`);
    }
  }
  // RoBERTa's LM head is `lm_head.*`; only the BERT and DistilBERT heads are mapped.
  for (const [bert, d] of LM_PARTS) add(bert, distil ? d : bert);
  return out;
}

/** The teacher layer each student layer copies, checked against both depths. */
export function selectTeacherLayers(selection: TeacherLayerSelection, studentLayers: number, teacherLayers: number): number[] {
  let chosen: number[];
  if (selection === 'every-other') {
    if (2 * studentLayers - 1 > teacherLayers - 1) {
      throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher "every-other": a ${studentLayers}-layer student needs teacher layers 0, 2, …, ${2 * studentLayers - 2}, but the teacher has ${teacherLayers}; use first-k or layers=… with ${studentLayers} indices below ${teacherLayers}.`);
    }
    chosen = Array.from({ length: studentLayers }, (_, i) => 2 * i);
  } else if (selection === 'first-k') {
    if (studentLayers > teacherLayers) throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher "first-k": the student has ${studentLayers} layers, more than the teacher's ${teacherLayers}.`);
    chosen = Array.from({ length: studentLayers }, (_, i) => i);
  } else {
    chosen = [...selection];
    if (chosen.length !== studentLayers) throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher: layers=${chosen.join(',')} names ${chosen.length} teacher layers but the student has ${studentLayers}; give exactly one per student layer.`);
    const bad = chosen.find((l) => !Number.isInteger(l) || l < 0 || l >= teacherLayers);
    if (bad !== undefined) throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher: layer ${bad} is not a teacher layer (0 … ${teacherLayers - 1}).`);
  }
  return chosen;
}

/** Copy embeddings, the selected layers and the LM head from `teacher` into `student`, in place. */
export function initFromTeacher(student: ModelLike, teacher: ModelLike, selection: TeacherLayerSelection = 'every-other'): InitFromTeacherReport {
  const s = shapeOf(student.config);
  const t = shapeOf(teacher.config);
  if (s.width !== t.width) {
    throw new DistilleryModelsError('WEIGHT_SHAPE_MISMATCH', `init from teacher: the student is ${s.width} wide and the teacher ${t.width}; copying layers needs equal hidden sizes. Make the student's ${student.config.modelType === 'distilbert' ? 'dim' : 'hidden_size'} ${t.width}, or start it from random init and distil with a projector.`);
  }
  const teacherLayers = selectTeacherLayers(selection, s.layers, t.layers);
  const studentNames = canonicalNames(student, s.layers);
  const teacherNames = canonicalNames(teacher, t.layers);
  const sp = student.namedParameters();
  const tp = teacher.namedParameters();
  const copied: Array<[string, string]> = [];
  for (const [canonical, own] of studentNames) {
    const source = canonical.replace(/^layer\.(\d+)\./, (_, i: string) => `layer.${teacherLayers[Number(i)]}.`);
    const from = teacherNames.get(source);
    if (from === undefined) continue;
    const [dst, src] = [sp.get(own)!, tp.get(from)!];
    if (dst.shape.join() !== src.shape.join()) {
      throw new DistilleryModelsError('WEIGHT_SHAPE_MISMATCH', `init from teacher: student ${own} is [${dst.shape.join(', ')}] but teacher ${from} is [${src.shape.join(', ')}]; the two configs differ in ${/embeddings/.test(own) ? 'vocab_size / max_position_embeddings / type_vocab_size' : 'intermediate_size'}; make them equal.`);
    }
    dst.assign(src);
    copied.push([own, from]);
  }
  const done = new Set(copied.map(([own]) => own));
  return { teacherLayers, copied, fresh: [...sp.keys()].filter((n) => !done.has(n)) };
}

/** Parse a CLI/config spelling: `every-other`, `first-k` or `layers=0,2,4`. */
export function parseTeacherLayerSelection(text: string): TeacherLayerSelection {
  if (text === 'every-other' || text === 'first-k') return text;
  const m = /^layers=(\d+(?:,\d+)*)$/.exec(text);
  if (!m) throw new DistilleryModelsError('CONFIG_INVALID', `init from teacher: "${text}" is not a layer selection; use every-other, first-k or layers=0,2,4.`);
  return m[1]!.split(',').map(Number);
}
