/** Every failure the `distillery` command raises on purpose: a stable `code`, one line naming the file/field/flag and the fix. */
export type CliErrorCode = 'CLI_USAGE' | 'CONFIG_INVALID' | 'DATA_INVALID';

export class DistilleryCliError extends Error {
  override readonly name = 'DistilleryCliError';
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
