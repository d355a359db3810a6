/**
 * Datasets are in-memory arrays (random access, shuffled) or async iterables (streamed in order).
 * Examples are tokenized: integer ids plus a label. Validation names the example index and field,
 * so a bad row fails here rather than as a shape error deep inside tfjs.
 */
import { DistilleryTrainerError } from '../errors.js';

export interface Example {
  inputIds: readonly number[];
  attentionMask?: readonly number[];
  tokenTypeIds?: readonly number[];
  /** Sequence-level label: class id, or a float for regression. */
  label?: number;
  /** Same as `label`, or per-token labels (-100 = ignored) for MLM / token classification. */
  labels?: number | readonly number[];
  /** The source text, if kept; ignored by the collator. */
  text?: string;
  /** The second text of a sentence pair, if kept (with `text`); ignored by the collator. */
  textPair?: string;
}

export type Dataset<E = Example> = ArrayLike<E> | AsyncIterable<E>;

export function isIndexedDataset<E>(d: Dataset<E>): d is ArrayLike<E> {
  return typeof (d as ArrayLike<E>).length === 'number';
}

/** The label of an example, whichever key holds it. */
export function exampleLabel(e: Example): number | readonly number[] | undefined {
  return e.labels ?? e.label;
}

/** Items a loss averages over: labelled tokens for per-token labels, else one per example. */
export function countItems(examples: readonly Example[]): number {
  let n = 0;
  for (const e of examples) {
    const l = exampleLabel(e);
    n += Array.isArray(l) ? l.filter((t) => t !== -100).length : 1;
  }
  return n;
}

type LabelKind = 'none' | 'scalar' | 'sequence';

function labelKind(l: number | readonly number[] | undefined): LabelKind {
  return l === undefined ? 'none' : Array.isArray(l) ? 'sequence' : 'scalar';
}

/** Checks examples one by one; remembers the first label kind so mixed datasets are caught. */
export class ExampleValidator {
  private kind: LabelKind | undefined;
  constructor(
    private readonly name: string,
    private readonly numLabels?: number,
    /** The model's embedding rows: an id beyond them is gathered silently wrong by tfjs, so it is refused here. */
    private readonly vocabSize?: number,
  ) {}

  check(e: Example, index: number): void {
    const at = `${this.name}[${index}]`;
    const fail = (field: string, msg: string): never => {
      throw new DistilleryTrainerError('DATASET_INVALID', `${at}.${field}: ${msg}`);
    };
    if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new DistilleryTrainerError('DATASET_INVALID', `${at}: must be an object like {inputIds: [2, 7, 3], label: 0}, got ${Array.isArray(e) ? 'a list' : typeof e}.`);
    if (e.text !== undefined && typeof e.text !== 'string') fail('text', `must be a string, got ${typeof e.text}; keep the source text as a string, or drop the field.`);
    if (e.textPair !== undefined && (typeof e.textPair !== 'string' || e.text === undefined)) fail('textPair', `must be a string beside text, got ${typeof e.textPair}${e.text === undefined ? ' without text' : ''}; keep the pair's second text as a string, or drop the field.`);
    if (!Array.isArray(e.inputIds) || e.inputIds.length === 0) fail('inputIds', 'must be a non-empty array of token ids; tokenize the text first.');
    const len = e.inputIds.length;
    const ints = (field: 'inputIds' | 'attentionMask' | 'tokenTypeIds', v: readonly number[] | undefined): void => {
      if (v === undefined) return;
      if (!Array.isArray(v) || v.length !== len) fail(field, `must be an array as long as inputIds (${len}), got ${Array.isArray(v) ? v.length : typeof v}.`);
      v.forEach((x, i) => {
        if (!Number.isInteger(x) || x < 0) fail(`${field}[${i}]`, `must be an integer >= 0, got ${String(x)}.`);
      });
    };
    ints('inputIds', e.inputIds);
    const beyond = this.vocabSize === undefined ? -1 : e.inputIds.findIndex((x) => x >= this.vocabSize!);
    if (beyond >= 0) fail(`inputIds[${beyond}]`, `${e.inputIds[beyond]} is beyond the model's vocabSize (${this.vocabSize}); tokenize with the model's tokenizer.`);
    ints('attentionMask', e.attentionMask);
    ints('tokenTypeIds', e.tokenTypeIds);

    const field = e.labels !== undefined ? 'labels' : 'label';
    const label = exampleLabel(e);
    const kind = labelKind(label);
    this.kind ??= kind;
    if (kind !== this.kind) fail(field, `is ${kind === 'none' ? 'missing' : `a ${kind} label`} but earlier examples have ${this.kind === 'none' ? 'no label' : `${this.kind} labels`}; use one label type for the whole dataset.`);
    // -100 is ignored by the loss (HF's ignore_index), for sequence-level labels too (unlabelled rows
    // of a transfer set). Per-token labels are not bounded by numLabels: an MLM's labels are vocabulary
    // ids; the model range-checks them against its own label space in forward.
    const checkClass = (x: number, where: string, bounded: boolean): void => {
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(where, `must be a class id (or a float for regression), got ${JSON.stringify(x) ?? String(x)}; map label names to ids with the model config's label2id.`);
      if (x === -100) return;
      if (bounded && this.numLabels !== undefined && this.numLabels > 1 && !(Number.isInteger(x) && x >= 0 && x < this.numLabels)) {
        fail(where, `${x} is outside 0..${this.numLabels - 1} (the model has numLabels=${this.numLabels}); fix the label or the model's numLabels.`);
      }
    };
    if (kind === 'scalar') checkClass(label as number, field, true);
    if (kind === 'sequence') {
      const seq = label as readonly number[];
      if (seq.length !== len) fail(field, `has ${seq.length} per-token labels but inputIds has ${len}; pad labels with -100.`);
      seq.forEach((x, i) => checkClass(x, `${field}[${i}]`, false));
    }
  }
}

/** A list of examples (any array-like object) or an async iterable of them; anything else is refused by name. */
export function checkDatasetKind(dataset: unknown, name: string): asserts dataset is Dataset {
  const isObject = typeof dataset === 'object' && dataset !== null;
  const indexed = isObject && typeof (dataset as ArrayLike<unknown>).length === 'number';
  const stream = isObject && typeof (dataset as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
  if (!indexed && !stream) throw new DistilleryTrainerError('DATASET_INVALID', `${name} must be a list of examples like [{inputIds: [2, 7, 3], label: 0}] (or an async iterable of them), got ${dataset === null ? 'null' : typeof dataset}.`);
}

/** Validate a whole in-memory dataset up front (empty, ids, labels, mixed label types). */
export function validateDataset(dataset: ArrayLike<Example>, name: string, numLabels?: number, vocabSize?: number): void {
  if (dataset.length === 0) throw new DistilleryTrainerError('DATASET_INVALID', `${name} is empty; pass at least one example.`);
  const v = new ExampleValidator(name, numLabels, vocabSize);
  for (let i = 0; i < dataset.length; i++) v.check(dataset[i]!, i);
}
