/**
 * The `plugins` list of a distill config: `{type, name?, weight?, ...options}` entries turned into
 * loss plugins. Each type lists its options and their kinds, so an unknown option or a wrong
 * value is refused as `plugins[i].<field>` before training starts.
 */
import { AttentionPlugin, CosinePlugin, DistilleryPluginsError, HiddenStatePlugin, LogitKdPlugin, MiniLmPlugin, PatientKdPlugin, TinyBertPlugin, type LayerMapSpec, type LossPlugin, type OptionRange, type ProjectorInit, type Schedule, type ShapeContext, FRACTION_RANGE, TEMPERATURE_RANGE, WEIGHT_RANGE, describeRange, inRange } from '@distillery/plugins';
import { readSafetensors, type TensorEntry } from '@distillery/models';
import type { ConfigFields } from './config.js';

/**
 * How an option is checked: a value kind, or the allowed strings. A schedule or number carries
 * its range (the plugins' own, which their constructors check too), checked at every point a
 * schedule can take, so `alpha: {kind: linear, from: 0, to: 2}` is named here as the config field.
 */
type OptionKind = { schedule: OptionRange } | { number: OptionRange } | 'int' | 'boolean' | 'layerMap' | 'projector' | readonly string[];

const REDUCTION = ['mean', 'sum'] as const;

interface PluginType {
  options: Readonly<Record<string, OptionKind>>;
  /** Options arrive checked against `options`. */
  create(options: Record<string, unknown>): LossPlugin;
}

export const PLUGIN_TYPES: Readonly<Record<string, PluginType>> = {
  logitKd: { options: { kind: ['kl', 'mse', 'regression'], temperature: { schedule: TEMPERATURE_RANGE }, alpha: { schedule: FRACTION_RANGE }, target: ['sequence', 'token', 'span'] }, create: (o) => new LogitKdPlugin(o) },
  hiddenState: { options: { layerMap: 'layerMap', includeEmbeddings: 'boolean', maskPadding: 'boolean', reduction: REDUCTION, projector: 'projector' }, create: (o) => new HiddenStatePlugin(o) },
  attention: { options: { layerMap: 'layerMap', target: ['probabilities', 'scores'], maskPadding: 'boolean', reduction: REDUCTION }, create: (o) => new AttentionPlugin(o) },
  tinyBert: {
    options: { layerMap: 'layerMap', attentionLayerMap: 'layerMap', reduction: REDUCTION, embeddingProjector: 'projector', hiddenProjector: 'projector', attentionTarget: ['probabilities', 'scores'], temperature: { number: TEMPERATURE_RANGE }, intermediateSteps: 'int' },
    create: (o) => new TinyBertPlugin(o),
  },
  miniLm: { options: {}, create: (o) => new MiniLmPlugin(o) },
  cosine: { options: {}, create: (o) => new CosinePlugin(o) },
  patientKd: { options: { layerMap: 'layerMap' }, create: (o) => new PatientKdPlugin(o) },
};

function bounded(f: ConfigFields, v: unknown, path: string, range: OptionRange): number {
  const x = f.number(v, path);
  if (!inRange(x, range)) f.fail(path, `must be ${describeRange(range)}, got ${x}.`);
  return x;
}

function schedule(f: ConfigFields, v: unknown, path: string, range: OptionRange): Schedule {
  if (typeof v === 'number') return bounded(f, v, path, range);
  const o = f.object(v, path);
  const kind = f.choice(o.kind, `${path}.kind`, ['constant', 'linear']);
  if (kind === 'constant') {
    f.keys(o, path, ['kind', 'value']);
    return { kind, value: bounded(f, o.value, `${path}.value`, range) };
  }
  f.keys(o, path, ['kind', 'from', 'to', 'startStep', 'endStep']);
  const startStep = f.optional(o.startStep, `${path}.startStep`, (x, p) => f.int(x, p, 0));
  const endStep = f.optional(o.endStep, `${path}.endStep`, (x, p) => f.int(x, p, 1));
  if (endStep !== undefined && endStep <= (startStep ?? 0)) f.fail(`${path}.endStep`, `must be greater than startStep (${startStep ?? 0}), got ${endStep}.`);
  return { kind, from: bounded(f, o.from, `${path}.from`, range), to: bounded(f, o.to, `${path}.to`, range), ...(startStep !== undefined && { startStep }), ...(endStep !== undefined && { endStep }) };
}

function layerMap(f: ConfigFields, v: unknown, path: string): LayerMapSpec {
  const o = f.object(v, path);
  const kind = f.choice(o.kind, `${path}.kind`, ['uniform', 'last', 'skip', 'explicit']);
  if (kind === 'uniform' || kind === 'last') {
    f.keys(o, path, ['kind']);
    return { kind };
  }
  if (kind === 'skip') {
    f.keys(o, path, ['kind', 'every']);
    return { kind, every: f.int(o.every, `${path}.every`, 1) };
  }
  f.keys(o, path, ['kind', 'map']);
  // `{"1": 2, "2": 4}` (student: teacher) or `[[1, 2], [2, 4]]`.
  const pairs: Array<readonly [number, number]> = Array.isArray(o.map)
    ? o.map.map((pair, i) => {
        if (!Array.isArray(pair) || pair.length !== 2) f.fail(`${path}.map[${i}]`, 'must be a [student, teacher] pair of layer indices.');
        return [f.int(pair[0], `${path}.map[${i}][0]`, 0), f.int(pair[1], `${path}.map[${i}][1]`, 0)] as const;
      })
    : Object.entries(f.object(o.map, `${path}.map`)).map(([s, t]) => [f.int(Number(s), `${path}.map.${s}`, 0), f.int(t, `${path}.map.${s}`, 0)] as const);
  return { kind, map: pairs };
}

/**
 * Initial projector weights from a safetensors file holding one `[teacherWidth, studentWidth]`
 * `*weight` tensor and optionally its `*bias` (e.g. the parity fixtures' projector.safetensors).
 */
function projector(f: ConfigFields, v: unknown, path: string): ProjectorInit {
  const file = f.path(v, path);
  let tensors: Map<string, TensorEntry>;
  try {
    tensors = readSafetensors(file).tensors;
  } catch (cause) {
    return f.fail(path, `cannot be read as safetensors (${(cause as Error).message}); give a .safetensors file with the projector's weight and bias.`, cause);
  }
  const pick = (suffix: string) => [...tensors].filter(([name]) => name === suffix || name.endsWith(`.${suffix}`));
  const weights = pick('weight');
  const biases = pick('bias');
  if (weights.length !== 1 || weights[0]![1].shape.length !== 2 || biases.length > 1) {
    f.fail(path, `${file} must hold exactly one 2-D "<name>.weight" [teacher width, student width] and at most one "<name>.bias"; it has ${[...tensors.keys()].join(', ') || 'no tensors'}.`);
  }
  const [, w] = weights[0]!;
  const rows = Array.from({ length: w.shape[0]! }, (_, r) => Array.from(w.data).slice(r * w.shape[1]!, (r + 1) * w.shape[1]!));
  return { weight: rows, ...(biases[0] && { bias: Array.from(biases[0][1].data) }) };
}

function option(f: ConfigFields, kind: OptionKind, v: unknown, path: string): unknown {
  if (Array.isArray(kind)) return f.choice(v, path, kind);
  if (typeof kind === 'object' && 'schedule' in kind) return schedule(f, v, path, kind.schedule);
  if (typeof kind === 'object' && 'number' in kind) return bounded(f, v, path, kind.number);
  switch (kind) {
    case 'int': return f.int(v, path, 0);
    case 'boolean': return f.boolean(v, path);
    case 'layerMap': return layerMap(f, v, path);
    case 'projector': return projector(f, v, path);
  }
}

/** The loss plugins of `plugins` (a non-empty list), names unique; `defaults` fill options an entry leaves out, by type. */
export function parsePlugins(f: ConfigFields, v: unknown, path = 'plugins', defaults: Readonly<Record<string, Record<string, unknown>>> = {}): LossPlugin[] {
  const types = Object.keys(PLUGIN_TYPES);
  if (!Array.isArray(v) || v.length === 0) f.fail(path, `must be a non-empty list of {"type": ..., "weight": ...} entries; types: ${types.join(', ')}.`);
  const names = new Set<string>();
  const plugins = v.map((entry, i) => {
    const at = `${path}[${i}]`;
    const o = f.object(entry, at);
    const type = PLUGIN_TYPES[f.choice(o.type, `${at}.type`, types)]!;
    f.keys(o, at, ['type', 'name', 'weight', ...Object.keys(type.options)]);
    const options: Record<string, unknown> = { ...defaults[o.type as string] };
    if (o.name !== undefined) options.name = f.string(o.name, `${at}.name`);
    if (o.weight !== undefined) options.weight = schedule(f, o.weight, `${at}.weight`, WEIGHT_RANGE);
    for (const [key, kind] of Object.entries(type.options)) {
      if (o[key] !== undefined) options[key] = option(f, kind, o[key], `${at}.${key}`);
    }
    let plugin: LossPlugin;
    try {
      plugin = type.create(options);
    } catch (cause) {
      // A combination only the plugin knows to refuse: keep its words, say where it was written.
      if (!(cause instanceof DistilleryPluginsError)) throw cause;
      return f.fail(at, `(${o.type as string}): ${cause.message}`, cause);
    }
    if (names.has(plugin.name)) f.fail(`${at}.name`, `"${plugin.name}" is already used by an earlier plugin; give this one another name.`);
    names.add(plugin.name);
    return plugin;
  });
  // Every weight 0 throughout: the loss is 0, and the run would "succeed" having learned nothing.
  if (v.every((entry) => isZero((entry as Record<string, unknown>).weight))) f.fail(path, 'has every plugin weight at 0 for the whole run, so nothing would be learned; give at least one plugin a weight > 0.');
  return plugins;
}

/**
 * The plugins' options against the models' shapes (from their configs, before any weights load):
 * a layer map beyond either model's layers is named as `plugins[i].layerMap` with the valid range.
 */
export function checkPluginShapes(f: ConfigFields, plugins: readonly LossPlugin[], shapes: ShapeContext, path = 'plugins'): void {
  plugins.forEach((plugin, i) => {
    try {
      plugin.checkShapes?.(shapes);
    } catch (cause) {
      if (!(cause instanceof DistilleryPluginsError)) throw cause;
      // The message starts with the option at fault ("layerMap: teacher index 9 is outside 0..2 ...").
      const option = /^(\w+)\b/.exec(cause.message)?.[1];
      const type = String((f.get(path) as Array<{ type?: unknown }> | undefined)?.[i]?.type);
      const known = option !== undefined && option in (PLUGIN_TYPES[type]?.options ?? {});
      f.fail(known ? `${path}[${i}].${option}` : `${path}[${i}]`, `(${type}): ${known ? cause.message.slice(option.length).replace(/^[\s:]+/, '') : cause.message}`, cause);
    }
  });
}

function isZero(weight: unknown): boolean {
  if (weight === 0) return true;
  const w = weight as { kind?: unknown; value?: unknown; from?: unknown; to?: unknown } | undefined;
  return w?.kind === 'constant' ? w.value === 0 : w?.kind === 'linear' && w.from === 0 && w.to === 0;
}
