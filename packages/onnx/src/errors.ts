/** Every failure `@distillery/onnx` raises on purpose: a stable `code`, a message naming the file or field and the fix. */
export type OnnxErrorCode =
  | 'UNSUPPORTED_MODEL'
  | 'WRITE_FAILED'
  | 'TEACHER_INVALID'
  | 'TEACHER_RUN_FAILED'
  | 'OUTPUT_MISSING';

export class DistilleryOnnxError extends Error {
  override readonly name = 'DistilleryOnnxError';
  constructor(
    readonly code: OnnxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
