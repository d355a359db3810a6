/**
 * Batches for distillation on a labelled fraction plus an unlabelled transfer set. Transfer
 * examples carry no label, so the trainer's dataset checks see an unlabelled dataset; this
 * collator adds the labels tensor itself, with -100 (ignored by the hard-label loss) for the
 * transfer rows: every row gets the teacher's soft labels, only labelled rows a hard one.
 */
import * as tf from '@tensorflow/tfjs';
import { DataCollatorWithPadding } from '@distillery/trainer';
import type { DataCollator, Example, ModelInputs } from '@distillery/trainer';

export const IGNORE_LABEL = -100;

export interface TransferExample extends Example {
  /** The gold label of a labelled-fraction example; absent on transfer-set examples. */
  hardLabel?: number;
}

export class SemiSupervisedCollator implements DataCollator<TransferExample, ModelInputs> {
  private readonly base = new DataCollatorWithPadding();

  collate(examples: readonly TransferExample[]): ModelInputs {
    const inputs = this.base.collate(examples);
    tf.dispose(inputs.labels); // eval examples carry `label`: rebuilt below with the training rows' rule
    const labels = examples.map((e) => e.hardLabel ?? (typeof e.label === 'number' ? e.label : IGNORE_LABEL));
    return { ...inputs, labels: tf.tensor1d(labels, 'int32') }; // [B]
  }
}
