/**
 * A learned `Linear(studentDim → teacherDim)` that lifts student features to the teacher's
 * width before comparing them (TinyBERT's W_h, the seed's `projector`). HF layout `[out, in]`.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';

/**
 * Starting weights for a projection (HF layout: weight `[teacherDim, studentDim]`, bias
 * `[teacherDim]`, zeros when absent): to resume from, or match, another run's projector.
 */
export interface ProjectorInit {
  weight: tf.Tensor | number[][];
  bias?: tf.Tensor | number[];
}

export class LinearProjection {
  /** `[teacherDim, studentDim]`. */
  readonly weight: tf.Variable;
  /** `[teacherDim]`. */
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { seed?: number; std?: number; initial?: ProjectorInit } = {},
  ) {
    const init = options.initial;
    // Default: the models' Linear init, N(0, 0.02) weights, zero bias. tfjs variable names are
    // global and must be unique, so the checkpoint name lives in namedVariables() only.
    this.weight = tf.tidy(() => tf.variable(init ? checkedInit(init.weight, [outFeatures, inFeatures], `${name}.weight`) : tf.randomNormal([outFeatures, inFeatures], 0, options.std ?? 0.02, 'float32', options.seed)));
    this.bias = tf.tidy(() => tf.variable(init?.bias !== undefined ? checkedInit(init.bias, [outFeatures], `${name}.bias`) : tf.zeros([outFeatures])));
  }

  /** `x @ Wᵀ + b`: `[..., in]` → `[..., out]`. */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.reshape(x, [-1, this.inFeatures]); // [N, in]
      const y = tf.add(tf.matMul(flat, this.weight, false, true), this.bias); // [N, out]
      return tf.reshape(y, [...x.shape.slice(0, -1), this.outFeatures]);
    });
  }

  /** Variables keyed `<name>.weight` / `<name>.bias`, as a checkpoint stores them. */
  namedVariables(): Map<string, tf.Variable> {
    return new Map([[`${this.name}.weight`, this.weight], [`${this.name}.bias`, this.bias]]);
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/** An initial value as a float32 tensor of `shape`, or a typed error naming the variable. */
function checkedInit(value: tf.Tensor | number[][] | number[], shape: number[], what: string): tf.Tensor {
  const t = value instanceof tf.Tensor ? tf.cast(value, 'float32') : tf.tensor(value, undefined, 'float32');
  if (t.shape.join() !== shape.join()) {
    throw new DistilleryPluginsError('SHAPE_MISMATCH', `initial ${what} has shape [${t.shape.join(', ')}] but the projection needs [${shape.join(', ')}] (HF layout [teacher width, student width]).`);
  }
  return t;
}
