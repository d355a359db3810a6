/**
 * The structural contract between the trainer and any model (docs/design.md).
 * The trainer never imports a model class: every `@distillery/models` class satisfies this as is.
 */
import type * as tf from '@tensorflow/tfjs';
import type { FileStore } from '@distillery/storage';

/** Where the trainer asks a model to save or load its folder (checkpoints into its own store). */
export interface ModelStoreOptions {
  store?: FileStore;
}

export interface TrainableModel<I = any, O extends { loss?: tf.Scalar } = any> {
  /** Synchronous; the caller wraps it in `tf.tidy`. `seed` makes dropout reproducible (resume). */
  forward(inputs: I, options: { training: boolean; seed?: number }): O;
  /** Parameters keyed by their HF state-dict name (tied weights once). Non-trainable variables are not optimised. */
  namedParameters(): Map<string, tf.Variable>;
  /** Write the model folder `dir` in `options.store` (a model that ignores it can only checkpoint to the file system). */
  savePretrained(dir: string, options?: ModelStoreOptions): Promise<void> | void;
  /** Restore weights in place from a `savePretrained` folder. */
  loadWeights(dir: string, options?: ModelStoreOptions): Promise<void> | void;
  /** When present, `numLabels` lets the trainer reject labels the classifier cannot score, and `vocabSize` ids its embeddings do not hold. */
  readonly config?: { readonly numLabels?: number; readonly vocabSize?: number };
}
