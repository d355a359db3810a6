/**
 * The structural contract between the trainer and any model (docs/design.md).
 * The trainer never imports a model class: every `@distillery/models` class satisfies this as is.
 */
import type * as tf from '@tensorflow/tfjs';

export interface TrainableModel<I = any, O extends { loss?: tf.Scalar } = any> {
  /** Synchronous; the caller wraps it in `tf.tidy`. `seed` makes dropout reproducible (resume). */
  forward(inputs: I, options: { training: boolean; seed?: number }): O;
  /** Parameters keyed by their HF state-dict name (tied weights once). Non-trainable variables are not optimised. */
  namedParameters(): Map<string, tf.Variable>;
  savePretrained(dir: string): Promise<void> | void;
  /** Restore weights in place from a `savePretrained` folder. */
  loadWeights(dir: string): Promise<void> | void;
  /** When present, `numLabels` lets the trainer reject labels the classifier cannot score. */
  readonly config?: { readonly numLabels?: number };
}
