/**
 * A learned `Linear(studentDim → teacherDim)` that lifts student features to the teacher's
 * width before comparing them (TinyBERT's W_h, the seed's `projector`). HF layout `[out, in]`.
 */
import * as tf from '@tensorflow/tfjs';

export class LinearProjection {
  /** `[teacherDim, studentDim]`. */
  readonly weight: tf.Variable;
  /** `[teacherDim]`. */
  readonly bias: tf.Variable;

  constructor(
    readonly name: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { seed?: number; std?: number } = {},
  ) {
    // Same init as the models' Linear layers: N(0, 0.02) weights, zero bias. tfjs variable
    // names are global and must be unique, so the checkpoint name lives in namedVariables() only.
    this.weight = tf.tidy(() => tf.variable(tf.randomNormal([outFeatures, inFeatures], 0, options.std ?? 0.02, 'float32', options.seed)));
    this.bias = tf.tidy(() => tf.variable(tf.zeros([outFeatures])));
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
