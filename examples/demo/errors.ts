/** Every failure the demo raises on purpose: a stable `code`, a message naming the option or file and the fix. */
export type DemoErrorCode = 'OPTION_INVALID' | 'DATA_INVALID' | 'TOKENIZER_INVALID' | 'REPORT_INVALID';

export class DistilleryDemoError extends Error {
  override readonly name = 'DistilleryDemoError';
  constructor(
    readonly code: DemoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
