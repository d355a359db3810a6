/**
 * Batches of raw examples, epoch after epoch, from a position that can be saved and restored
 * (epoch, next batch, PRNG state at the epoch's start). It holds no tensors: the trainer
 * collates one micro-batch at a time and disposes it after the step.
 */
import { DistilleryTrainerError } from '../errors.js';
import { ExampleValidator, isIndexedDataset, type Dataset, type Example } from './dataset.js';
import { Rng } from './rng.js';
import { lengthGroupedOrder, randomOrder, sequentialOrder } from './sampler.js';

export interface DataLoaderOptions {
  batchSize: number;
  /** Shuffle in-memory datasets each epoch (iterables stream in their own order). */
  shuffle: boolean;
  groupByLength?: boolean;
  dropLast?: boolean;
  seed?: number;
  /** Name used in validation errors, e.g. "trainDataset". */
  name?: string;
  numLabels?: number;
  /** The model's embedding rows: a streamed example's id beyond them is refused before its batch is collated. */
  vocabSize?: number;
}

export interface DataLoaderState {
  epoch: number;
  /** Index of the next batch to read in `epoch`. */
  batchIndex: number;
  /** PRNG state at the start of `epoch` (regenerates its order). */
  rngState: number;
}

export interface RawBatch<E> {
  examples: E[];
  /** Dataset indices (stream positions for iterables). */
  indices: number[];
}

export class DataLoader<E extends Example = Example> {
  private position: DataLoaderState;

  constructor(
    readonly dataset: Dataset<E>,
    readonly options: DataLoaderOptions,
  ) {
    this.position = { epoch: 0, batchIndex: 0, rngState: (options.seed ?? 0) >>> 0 };
  }

  /** Batches per epoch; undefined for an iterable (its length is unknown). */
  get numBatches(): number | undefined {
    if (!isIndexedDataset(this.dataset)) return undefined;
    const { batchSize, dropLast } = this.options;
    return dropLast ? Math.floor(this.dataset.length / batchSize) : Math.ceil(this.dataset.length / batchSize);
  }

  /** Where the next batch comes from; a finished epoch reads as the start of the next one. */
  state(): DataLoaderState {
    const n = this.numBatches;
    if (n !== undefined && this.position.batchIndex >= n) return { epoch: this.position.epoch + 1, batchIndex: 0, rngState: this.order().nextState };
    return { ...this.position };
  }

  loadState(state: DataLoaderState): void {
    const ok = [state.epoch, state.batchIndex, state.rngState].every((x) => Number.isInteger(x) && x >= 0);
    if (!ok) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `rng_state.json: epoch, batchIndex and rngState must be integers >= 0, got ${JSON.stringify(state)}.`);
    this.position = { ...state };
  }

  private order(): { order: number[]; nextState: number } {
    const data = this.dataset as ArrayLike<E>;
    const rng = new Rng(this.position.rngState);
    const { shuffle, groupByLength, batchSize } = this.options;
    let order: number[];
    if (!shuffle) order = sequentialOrder(data.length);
    else if (groupByLength) order = lengthGroupedOrder(Array.from(data, (e) => e.inputIds.length), batchSize, rng);
    else order = randomOrder(data.length, rng);
    return { order, nextState: rng.state };
  }

  /** The remaining batches of the current epoch; afterwards the position moves to the next epoch. */
  async *epoch(): AsyncGenerator<RawBatch<E>> {
    if (isIndexedDataset(this.dataset)) yield* this.indexedEpoch(this.dataset);
    else yield* this.streamedEpoch(this.dataset);
  }

  private *indexedEpoch(data: ArrayLike<E>): Generator<RawBatch<E>> {
    const { order, nextState } = this.order();
    const n = this.numBatches!;
    const bs = this.options.batchSize;
    while (this.position.batchIndex < n) {
      const indices = order.slice(this.position.batchIndex * bs, (this.position.batchIndex + 1) * bs);
      this.position.batchIndex += 1;
      yield { examples: indices.map((i) => data[i]!), indices };
    }
    this.position = { epoch: this.position.epoch + 1, batchIndex: 0, rngState: nextState };
  }

  private async *streamedEpoch(stream: AsyncIterable<E>): AsyncGenerator<RawBatch<E>> {
    const { batchSize, dropLast, name = 'dataset', numLabels, vocabSize } = this.options;
    const validator = new ExampleValidator(name, numLabels, vocabSize);
    const skip = this.position.batchIndex * batchSize;
    let pos = 0;
    let batch: RawBatch<E> = { examples: [], indices: [] };
    for await (const e of stream) {
      const i = pos++;
      if (i < skip) continue;
      validator.check(e, i);
      batch.examples.push(e);
      batch.indices.push(i);
      if (batch.examples.length === batchSize) {
        this.position.batchIndex += 1;
        yield batch;
        batch = { examples: [], indices: [] };
      }
    }
    if (pos === 0) throw new DistilleryTrainerError('DATASET_INVALID', `${name} yielded no examples; pass a non-empty dataset (an async iterable must be re-iterable, one pass per epoch).`);
    if (batch.examples.length > 0 && !dropLast) {
      this.position.batchIndex += 1;
      yield batch;
    }
    this.position = { epoch: this.position.epoch + 1, batchIndex: 0, rngState: this.position.rngState };
  }
}
