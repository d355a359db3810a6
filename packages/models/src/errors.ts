/** Every failure `@distillery/models` raises on purpose: a stable `code`, a message naming the file/field and the fix. */
export type ModelsErrorCode =
  | 'SAFETENSORS_EMPTY'
  | 'SAFETENSORS_TRUNCATED'
  | 'SAFETENSORS_HEADER_TOO_LARGE'
  | 'SAFETENSORS_HEADER_JSON'
  | 'SAFETENSORS_BAD_ENTRY'
  | 'SAFETENSORS_UNKNOWN_DTYPE'
  | 'SAFETENSORS_BAD_OFFSETS'
  | 'SAFETENSORS_SIZE_MISMATCH'
  | 'SAFETENSORS_DUPLICATE_NAME'
  | 'SAFETENSORS_UNSUPPORTED_DTYPE'
  | 'CONFIG_MISSING'
  | 'CONFIG_JSON'
  | 'CONFIG_INVALID'
  | 'UNKNOWN_MODEL_TYPE'
  | 'UNKNOWN_ARCHITECTURE'
  | 'UNKNOWN_ACTIVATION'
  | 'WEIGHTS_MISSING'
  | 'WEIGHT_SHAPE_MISMATCH'
  | 'MISSING_KEYS'
  | 'TOKENIZER_MISSING'
  | 'TOKENIZER_INVALID'
  | 'VOCAB_INVALID'
  | 'HUB_OFFLINE'
  | 'HUB_NOT_FOUND'
  | 'INPUT_INVALID'
  | 'INPUT_ON_DEVICE'
  | 'UNKNOWN_PARAMETER'
  | 'LABELS_INVALID'
  | 'WRITE_FAILED'
  /** A public function got an argument of the wrong type (a number where a folder path goes). */
  | 'ARGUMENT_INVALID'
  /** savePretrained's folder holds a config.json / model.safetensors no model save wrote: never replaced. */
  | 'OUTPUT_PATH_INVALID';

/** A folder / hub id argument of a public function must be a non-empty string; `call` names the function. */
export function requirePathArgument(value: unknown, call: string): asserts value is string {
  if (typeof value === 'string' && value.trim() !== '') return;
  const got = value === '' ? 'an empty string' : value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value;
  throw new DistilleryModelsError('ARGUMENT_INVALID', `${call}: expects a folder path or hub id (a non-empty string), got ${got}.`);
}

export class DistilleryModelsError extends Error {
  override readonly name = 'DistilleryModelsError';
  constructor(
    readonly code: ModelsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
