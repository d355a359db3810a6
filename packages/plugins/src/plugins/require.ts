/** Small helpers every built-in plugin shares. */
import type * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { LinearProjection, type ProjectorInit } from '../losses/projection.js';
import { pairName, type LayerMap } from '../losses/layer-map.js';
import { requireOutput, type DistillOutputs, type LossContext } from '../plugin.js';
import { WEIGHT_RANGE, checkSchedule, type Schedule } from '../schedule.js';

/**
 * A built-in plugin's name and weight from its options (checked: the weight at every point of
 * its schedule); `plugin` is the class name, for messages (`LogitKdPlugin.weight must be ...`).
 */
export function pluginIdentity(plugin: string, options: { name?: string; weight?: Schedule }, defaultName: string): { name: string; weight: Schedule } {
  if (typeof options !== 'object' || options === null) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${plugin}: expects an options object such as { weight: 1 }, got ${options === null ? 'null' : typeof options}.`);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `${plugin}.name must be a non-empty string, got ${JSON.stringify(options.name)}.`);
  const weight = options.weight ?? 1;
  checkSchedule(`${plugin}.weight`, weight, WEIGHT_RANGE);
  return { name: options.name ?? defaultName, weight };
}

/** The output list a plugin asked for, or a typed error saying which flag produces it. */
export function need<K extends 'hiddenStates' | 'attentions' | 'attentionScores'>(outputs: DistillOutputs, key: K, who: string, plugin: string): NonNullable<DistillOutputs[K]> {
  return requireOutput(outputs, key, { model: who, plugin });
}

/**
 * A projection from the student's to the teacher's width, or none when they already match and
 * no initial weights are given (given weights always make one, as the seed's `projector` is).
 */
export function projectionIfNeeded(name: string, studentDim: number, teacherDim: number, seed: number, initial?: ProjectorInit): LinearProjection | undefined {
  return studentDim === teacherDim && initial === undefined ? undefined : new LinearProjection(name, studentDim, teacherDim, { seed, ...(initial && { initial }) });
}

/** Raise when a plugin is used before `setup` has given it the models' shapes. */
export function ready<T>(value: T | undefined, plugin: string): T {
  if (value === undefined) throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `plugin "${plugin}" was used before setup(); run it through a DistillationTrainer or call setup({ student, teacher, seed }) first.`);
  return value;
}

export type Project = ((x: tf.Tensor) => tf.Tensor) | undefined;
export const applyOf = (p: LinearProjection | undefined): Project => (p ? (x) => p.apply(x) : undefined);

/** Report each pair's value as a sub-term `<prefix><student>-<teacher>` (`loss/hidden/6-12`). */
export function reportPairs(ctx: Pick<LossContext, 'report'>, map: LayerMap, perPair: readonly tf.Scalar[], prefix = ''): void {
  map.forEach((pair, i) => ctx.report(`${prefix}${pairName(pair)}`, perPair[i]!));
}
