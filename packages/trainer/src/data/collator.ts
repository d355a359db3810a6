/**
 * DataCollatorWithPadding: examples → model input tensors, padded on the right to the longest
 * example in the batch (optionally rounded up to a multiple), so short batches stay cheap.
 */
import * as tf from '@tensorflow/tfjs';
import { exampleLabel, type Example } from './dataset.js';
import { DistilleryTrainerError } from '../errors.js';

export interface ModelInputs {
  inputIds: tf.Tensor2D; // [B, S] int32
  attentionMask: tf.Tensor2D; // [B, S] int32, 1 = token
  tokenTypeIds?: tf.Tensor2D; // [B, S] int32, present when any example has them
  labels?: tf.Tensor; // [B] int32 | [B] float32 | [B, S] int32 (-100 = ignore)
}

export interface DataCollator<E = Example, I = ModelInputs> {
  collate(examples: readonly E[]): I;
  /**
   * The state of a collator that draws random numbers (DataCollatorForLanguageModeling's masks),
   * JSON. Checkpoints keep it in rng_state.json, as HF's rng_state.pth keeps torch's generator, so
   * a resumed run draws what an uninterrupted one would.
   */
  state?(): unknown;
  /** Restore `state()`'s value; a typed CHECKPOINT_INVALID error when it is not one. */
  loadState?(state: unknown): void;
}

export interface DataCollatorWithPaddingOptions {
  padTokenId?: number;
  padToMultipleOf?: number;
  /** Fill for per-token labels at padded positions. */
  labelPadTokenId?: number;
  /** Sequence-level label dtype; default float32 if any label is fractional, else int32. Use float32 for regression. */
  labelDtype?: 'int32' | 'float32';
}

export class DataCollatorWithPadding implements DataCollator<Example, ModelInputs> {
  private readonly padTokenId: number;
  private readonly padToMultipleOf: number;
  private readonly labelPadTokenId: number;

  constructor(private readonly options: DataCollatorWithPaddingOptions = {}) {
    this.padTokenId = options.padTokenId ?? 0;
    this.padToMultipleOf = options.padToMultipleOf ?? 1;
    this.labelPadTokenId = options.labelPadTokenId ?? -100;
  }

  collate(examples: readonly Example[]): ModelInputs {
    if (!Array.isArray(examples) || examples.length === 0) throw new DistilleryTrainerError('DATASET_INVALID', `DataCollatorWithPadding.collate: expects a non-empty list of examples [{inputIds, label?}, ...], got ${Array.isArray(examples) ? 'an empty list' : typeof examples}.`);
    const B = examples.length;
    const longest = Math.max(...examples.map((e) => e.inputIds.length));
    const S = Math.ceil(longest / this.padToMultipleOf) * this.padToMultipleOf;
    const ids = new Int32Array(B * S).fill(this.padTokenId);
    const mask = new Int32Array(B * S);
    const types = new Int32Array(B * S);
    examples.forEach((e, b) => {
      const row = b * S;
      ids.set(e.inputIds, row);
      if (e.attentionMask) mask.set(e.attentionMask, row);
      else mask.fill(1, row, row + e.inputIds.length);
      if (e.tokenTypeIds) types.set(e.tokenTypeIds, row);
    });
    const inputs: ModelInputs = { inputIds: tf.tensor2d(ids, [B, S], 'int32'), attentionMask: tf.tensor2d(mask, [B, S], 'int32') };
    if (examples.some((e) => e.tokenTypeIds)) inputs.tokenTypeIds = tf.tensor2d(types, [B, S], 'int32');
    const labels = this.labels(examples, S);
    if (labels) inputs.labels = labels;
    return inputs;
  }

  private labels(examples: readonly Example[], S: number): tf.Tensor | undefined {
    const raw = examples.map(exampleLabel);
    if (raw.every((l) => l === undefined)) return undefined;
    if (raw.some((l) => Array.isArray(l))) {
      const out = new Int32Array(examples.length * S).fill(this.labelPadTokenId);
      raw.forEach((l, b) => out.set(l as readonly number[], b * S));
      return tf.tensor2d(out, [examples.length, S], 'int32'); // [B, S]
    }
    const values = raw as number[];
    const dtype = this.options.labelDtype ?? (values.every(Number.isInteger) ? 'int32' : 'float32');
    return tf.tensor1d(values, dtype); // [B]
  }
}
