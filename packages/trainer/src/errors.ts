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
  /** A log's place holds something the Trainer did not write (a folder, a user's file): never written to. */
  | 'OUTPUT_PATH_INVALID'
  /** train() was called while an earlier call on the same Trainer still runs. */
  | 'TRAINER_BUSY'
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
