/**
 * Masked language modelling as HF prepares it: plain texts tokenized, concatenated and cut into
 * blocks (`run_mlm.py`'s `group_texts`), and `DataCollatorForLanguageModeling`'s masking —
 * each non-special token chosen with probability 15%; of those 80% become the mask token,
 * 10% a random token, 10% stay; labels hold the original id at chosen positions, `-100`
 * elsewhere. Seeded, so a run is repeatable.
 */
import { DistilleryTrainerError } from '../errors.js';
import { DataCollatorWithPadding, type DataCollator, type DataCollatorWithPaddingOptions, type ModelInputs } from './collator.js';
import type { Example } from './dataset.js';
import { Rng } from './rng.js';
import { tokenIds, type TaskTokenizer } from './task-tokenizer.js';

/** Texts → blocks of `maxLength` tokens (special tokens included); the last, shorter block is kept. */
export function languageModelingExamples(texts: readonly string[], tokenizer: TaskTokenizer, options: { maxLength: number }): Example[] {
  const budget = options.maxLength - tokenizer.numSpecialTokens(false);
  if (budget < 1) throw new DistilleryTrainerError('ARGS_INVALID', `languageModelingExamples: maxLength ${options.maxLength} leaves no room after the special tokens; raise it.`);
  const ids = texts.flatMap((t) => tokenIds(tokenizer, tokenizer.tokenize(t), t));
  const out: Example[] = [];
  for (let from = 0; from < ids.length; from += budget) {
    const built = tokenizer.buildInputs(ids.slice(from, from + budget));
    out.push({ inputIds: built.inputIds, tokenTypeIds: built.tokenTypeIds });
  }
  return out;
}

export interface MaskingOptions {
  vocabSize: number;
  maskTokenId: number;
  /** Ids never chosen ([CLS], [SEP], [PAD], …). */
  specialTokenIds: readonly number[];
  /** Default 0.15. */
  mlmProbability?: number;
}

/** One example masked: new inputIds and the labels (original ids where chosen, -100 elsewhere). */
export function maskTokens(inputIds: readonly number[], rng: Rng, options: MaskingOptions): { inputIds: number[]; labels: number[] } {
  const p = options.mlmProbability ?? 0.15;
  const special = new Set(options.specialTokenIds);
  const ids = [...inputIds];
  const labels = ids.map(() => -100);
  ids.forEach((id, i) => {
    // Every position draws the same three numbers, chosen or not, so one token's fate does not shift the others'.
    const [chosen, replace, random] = [rng.next(), rng.next(), rng.next()];
    if (special.has(id) || chosen >= p) return;
    labels[i] = id;
    if (replace < 0.8) ids[i] = options.maskTokenId;
    else if (random < 0.5) ids[i] = Math.floor(rng.next() * options.vocabSize);
  });
  return { inputIds: ids, labels };
}

export interface DataCollatorForLanguageModelingOptions extends MaskingOptions, Pick<DataCollatorWithPaddingOptions, 'padTokenId' | 'padToMultipleOf'> {
  /** Seeds the masks; batches are masked afresh each time (dynamic masking, as RoBERTa and HF). Default 42. */
  seed?: number;
}

/**
 * Masks each batch as it is collated, then pads it; per-token labels come out `[B, S]`.
 * Examples that already carry `labels` (a fixed evaluation set, see `maskedEvalExamples`) pass unmasked.
 */
export class DataCollatorForLanguageModeling implements DataCollator<Example, ModelInputs> {
  private readonly rng: Rng;
  private readonly padding: DataCollatorWithPadding;

  constructor(private readonly options: DataCollatorForLanguageModelingOptions) {
    const p = options.mlmProbability ?? 0.15;
    if (!(p > 0 && p < 1)) throw new DistilleryTrainerError('ARGS_INVALID', `DataCollatorForLanguageModeling: mlmProbability must lie in (0, 1), got ${p}.`);
    if (!Number.isInteger(options.maskTokenId) || options.maskTokenId < 0 || options.maskTokenId >= options.vocabSize) {
      throw new DistilleryTrainerError('ARGS_INVALID', `DataCollatorForLanguageModeling: maskTokenId ${options.maskTokenId} is not a token id below vocabSize ${options.vocabSize}; the tokenizer needs a mask_token.`);
    }
    this.rng = new Rng(options.seed ?? 42);
    this.padding = new DataCollatorWithPadding({ ...(options.padTokenId !== undefined && { padTokenId: options.padTokenId }), ...(options.padToMultipleOf !== undefined && { padToMultipleOf: options.padToMultipleOf }) });
  }

  collate(examples: readonly Example[]): ModelInputs {
    return this.padding.collate(examples.map((e) => (e.labels !== undefined ? e : { ...e, ...maskTokens(e.inputIds, this.rng, this.options) })));
  }

  /** The masking generator's position, `{"rng": uint32}`. */
  state(): { rng: number } {
    return { rng: this.rng.state };
  }

  loadState(state: unknown): void {
    const rng = (state as { rng?: unknown } | null)?.rng;
    if (!Number.isInteger(rng) || (rng as number) < 0 || (rng as number) > 0xffffffff) {
      throw new DistilleryTrainerError('CHECKPOINT_INVALID', `rng_state.json: collator must be {"rng": <uint32>} (DataCollatorForLanguageModeling's masking state), got ${JSON.stringify(state)}.`);
    }
    this.rng.state = rng as number;
  }
}

/** The same masking once, for a fixed evaluation set (every run scores the same positions). */
export function maskedEvalExamples(examples: readonly Example[], options: MaskingOptions & { seed: number }): Example[] {
  const rng = new Rng(options.seed);
  return examples.map((e) => ({ ...e, ...maskTokens(e.inputIds, rng, options) }));
}
