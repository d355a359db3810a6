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
  | 'WRITE_FAILED';

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
