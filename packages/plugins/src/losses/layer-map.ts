/**
 * Which teacher layer each student layer imitates. Indices address `hiddenStates`
 * (0 = embedding output, i = output of layer i) for hidden maps, and `attentions`
 * (0-based layers) for attention maps; the `*LayerMap` builders below produce the former.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';

/** `[studentIndex, teacherIndex]` pairs, in student order. */
export type LayerMap = ReadonlyArray<readonly [number, number]>;

/**
 * How to pair layers:
 * - `uniform`: student layer i ↔ teacher layer i·k with k = teacherLayers / studentLayers (TinyBERT).
 * - `last`: the student's layers ↔ the teacher's last ones (Patient-KD "PKD-last").
 * - `skip`: student layer i ↔ teacher layer i·k, k chosen by the user (PKD-skip when k = 2).
 * - `explicit`: a `{student: teacher}` record or pair list.
 */
export type LayerMapSpec =
  | { kind: 'uniform' }
  | { kind: 'last' }
  | { kind: 'skip'; every: number }
  | { kind: 'explicit'; map: Readonly<Record<number, number>> | LayerMap };

export interface LayerMapOptions {
  /** Pair the embedding outputs (index 0 ↔ 0). Default true, as TinyBERT and the seed do. */
  includeEmbeddings?: boolean;
  /** How messages name the map: the plugin option it came from (`layerMap`), by default "layer map". */
  what?: string;
}

/** A spec's own shape (kind, `every`, the map's pairs), before any model is known; `where` names the option. */
export function checkLayerMapSpec(where: string, spec: unknown): void {
  const bad = (message: string): never => {
    throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${where} ${message}`);
  };
  const s = spec as { kind?: unknown; every?: unknown; map?: unknown } | null;
  if (typeof s !== 'object' || s === null || !['uniform', 'last', 'skip', 'explicit'].includes(s.kind as string)) bad(`must be { kind: "uniform" | "last" | "skip" | "explicit", ... }, got ${JSON.stringify(spec)}.`);
  if (s!.kind === 'skip' && !(Number.isSafeInteger(s!.every) && (s!.every as number) >= 1)) bad(`"skip": every must be a positive integer, got ${JSON.stringify(s!.every)}.`);
  if (s!.kind === 'explicit') {
    const pairs = Array.isArray(s!.map) ? s!.map : typeof s!.map === 'object' && s!.map !== null ? Object.entries(s!.map).map(([k, t]) => [Number(k), t]) : undefined;
    if (pairs === undefined || pairs.length === 0) bad('"explicit": map must be a non-empty { student: teacher } record or list of [student, teacher] pairs.');
    for (const pair of pairs!) {
      if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((i) => Number.isSafeInteger(i) && i >= 0)) bad(`"explicit": ${JSON.stringify(pair)} is not a [student, teacher] pair of layer indices >= 0.`);
    }
  }
}

/**
 * Resolve a spec into hidden-state pairs for a student with `studentLayers` and a
 * teacher with `teacherLayers` transformer layers. Every index is range-checked so a
 * wrong map fails here, not inside a gather.
 */
export function resolveLayerMap(spec: LayerMapSpec, studentLayers: number, teacherLayers: number, options: LayerMapOptions = {}): LayerMap {
  const withEmbeddings = options.includeEmbeddings ?? true;
  const what = options.what ?? 'layer map';
  let pairs: Array<readonly [number, number]>;
  switch (spec.kind) {
    case 'uniform': {
      if (teacherLayers % studentLayers !== 0) {
        throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${what} "uniform": teacher layers (${teacherLayers}) are not a multiple of student layers (${studentLayers}); use { kind: 'skip', every } or an explicit map.`);
      }
      const k = teacherLayers / studentLayers;
      pairs = range(1, studentLayers).map((i) => [i, i * k] as const);
      break;
    }
    case 'last':
      pairs = range(1, studentLayers).map((i) => [i, teacherLayers - studentLayers + i] as const);
      break;
    case 'skip':
      if (!Number.isInteger(spec.every) || spec.every < 1) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${what} "skip": every must be a positive integer, got ${spec.every}.`);
      pairs = range(1, studentLayers).map((i) => [i, i * spec.every] as const);
      break;
    case 'explicit': {
      // An explicit map says itself whether 0 ↔ 0 is in; only an explicit `includeEmbeddings: false` drops it.
      const given = explicitPairs(spec);
      return checkLayerMap(options.includeEmbeddings === false ? given.filter(([s]) => s !== 0) : given, studentLayers, teacherLayers, what);
    }
  }
  if (withEmbeddings) pairs.unshift([0, 0]);
  return checkLayerMap(pairs, studentLayers, teacherLayers, what);
}

/**
 * Validate pairs: integer indices within `[0, layers]` for hidden states (0 = embeddings), or
 * within `[0, layers - 1]` for attention maps (`attentionIndices`, one per layer).
 */
export function checkLayerMap(map: LayerMap, studentLayers: number, teacherLayers: number, what = 'layer map', attentionIndices = false): LayerMap {
  if (map.length === 0) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${what} is empty; map at least one student layer to a teacher layer.`);
  const last = attentionIndices ? 1 : 0;
  for (const [s, t] of map) {
    if (!Number.isInteger(s) || s < 0 || s > studentLayers - last) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${what}: student index ${s} is outside 0..${studentLayers - last} (the student has ${studentLayers} layers).`);
    if (!Number.isInteger(t) || t < 0 || t > teacherLayers - last) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${what}: teacher index ${t} is outside 0..${teacherLayers - last} (the teacher has ${teacherLayers} layers).`);
  }
  return map;
}

function explicitPairs(spec: Extract<LayerMapSpec, { kind: 'explicit' }>): LayerMap {
  return Array.isArray(spec.map) ? spec.map : Object.entries(spec.map).map(([s, t]) => [Number(s), t] as const);
}

/**
 * How per-pair losses combine: `mean` keeps the scale independent of how many layers are
 * mapped (the fixtures' `hidden_mse`); `sum` is the seed's `layer_loss += …` and TinyBERT's.
 */
export type PairReduction = 'mean' | 'sum';

/** Combine per-pair scalars as `reduction` says. */
export function reducePairs(perPair: readonly tf.Scalar[], reduction: PairReduction = 'mean'): tf.Scalar {
  return tf.tidy(() => {
    const sum = tf.addN(perPair as tf.Scalar[]) as tf.Scalar;
    return reduction === 'sum' ? sum : (tf.div(sum, perPair.length) as tf.Scalar);
  });
}

/** A pair's sub-term name, `<student>-<teacher>` (logged as `loss/<plugin>/6-12`). */
export function pairName([s, t]: readonly [number, number]): string {
  return `${s}-${t}`;
}

/**
 * Attention-layer pairs for a spec: an `explicit` map indexes `attentions` directly (0-based
 * layers, as the seed's `mapping` and the fixtures' `attention_layer_map` do); the other kinds
 * pair each student layer's attention with that of the teacher layer the hidden map would pick.
 */
export function resolveAttentionMap(spec: LayerMapSpec, studentLayers: number, teacherLayers: number, what = 'attention layer map'): LayerMap {
  return spec.kind === 'explicit'
    ? checkLayerMap(explicitPairs(spec), studentLayers, teacherLayers, what, true)
    : attentionMapFromHiddenMap(resolveLayerMap(spec, studentLayers, teacherLayers, { includeEmbeddings: false, what }));
}

/**
 * Hidden-state pairs → attention-layer pairs. Hidden index i > 0 is the output of layer
 * i − 1, whose attention is `attentions[i − 1]`; the embedding pair has no attention.
 */
export function attentionMapFromHiddenMap(map: LayerMap): LayerMap {
  return map.filter(([s, t]) => s > 0 && t > 0).map(([s, t]) => [s - 1, t - 1] as const);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
