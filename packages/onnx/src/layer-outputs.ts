/**
 * The optional per-layer graph outputs, shared by the exporter (which adds them) and the ONNX
 * teacher (which returns them to the layer plugins, and whose refusal names the `distillery
 * export` flag that adds a missing kind; the CLI declares those flags itself, since it loads
 * this package only when a command needs it). Names follow
 * optimum's flattening of a model's output tuples (`hidden_states.0` = the embedding output,
 * `hidden_states.{i}` after layer i; `attentions.{i}` per layer), which transformers.js returns
 * by name; optimum has no name for pre-softmax scores, so `attention_scores.{i}` mirrors them.
 */
export interface LayerOutput {
  /** The DistillOutputs / OutputRequest field. */
  key: 'hiddenStates' | 'attentions' | 'attentionScores';
  /** The forward / export option that asks for it (HF's output_hidden_states, camelCased). */
  option: 'outputHiddenStates' | 'outputAttentions' | 'outputAttentionScores';
  /** Graph outputs are `${prefix}.${i}`. */
  prefix: string;
  /** The `distillery export` flag that adds them. */
  flag: string;
}

export const LAYER_OUTPUTS: readonly LayerOutput[] = [
  { key: 'hiddenStates', option: 'outputHiddenStates', prefix: 'hidden_states', flag: '--hidden-states' },
  { key: 'attentions', option: 'outputAttentions', prefix: 'attentions', flag: '--attentions' },
  { key: 'attentionScores', option: 'outputAttentionScores', prefix: 'attention_scores', flag: '--attention-scores' },
];

/** Which layer outputs a graph (or an export) carries. */
export type LayerOutputOptions = Partial<Record<LayerOutput['option'], boolean>>;

/** The layer outputs `flags` asks for: an OutputRequest / DistillOutputs-style object by `key`, forward or export options by `option`. */
export function requested(flags: object, by: 'key' | 'option'): LayerOutput[] {
  return LAYER_OUTPUTS.filter((o) => (flags as Record<string, unknown>)[o[by]] === true);
}

/** A graph's `${prefix}.${i}` outputs per kind, in layer order (empty where it has none). */
export function layerOutputNames(outputNames: readonly string[]): Record<LayerOutput['key'], string[]> {
  const byKind = (prefix: string): string[] => outputNames
    .map((name) => ({ name, m: new RegExp(`^${prefix}\\.(\\d+)$`).exec(name) }))
    .filter((x) => x.m !== null)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]))
    .map((x) => x.name);
  return Object.fromEntries(LAYER_OUTPUTS.map((o) => [o.key, byKind(o.prefix)])) as Record<LayerOutput['key'], string[]>;
}
