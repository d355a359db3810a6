/** Every failure `@distillery/trainer` raises on purpose: a stable `code`, a message naming the field and the fix. */
export type TrainerErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'BACKEND_UNKNOWN'
  | 'ARGS_INVALID'
  | 'DATASET_INVALID'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_MISSING'
  | 'NON_FINITE_LOSS'
  | 'NON_FINITE_GRADIENT'
  | 'MODEL_INVALID'
  | 'WRITE_FAILED'
  /** Every optimizer step of a logging window (or of the run's end) was skipped as non-finite: nothing was learned. */
  | 'NO_PROGRESS'
  /** The weights hold NaN/Inf; they are not saved over a good checkpoint. */
  | 'NON_FINITE_WEIGHTS';

export class DistilleryTrainerError extends Error {
  override readonly name = 'DistilleryTrainerError';
  constructor(
    readonly code: TrainerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
