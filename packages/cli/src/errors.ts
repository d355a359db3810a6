/** Every failure the `distillery` command raises on purpose: a stable `code`, one line naming the file/field/flag and the fix. */
export type CliErrorCode = 'CLI_USAGE' | 'CONFIG_INVALID' | 'DATA_INVALID' | 'CHECKPOINT_MISMATCH' | 'INTERRUPTED';

export class DistilleryCliError extends Error {
  override readonly name = 'DistilleryCliError';
  /** The process exit status this failure maps to (1 unless a signal stopped the run). */
  readonly exitCode: number;
  constructor(
    readonly code: CliErrorCode,
    message: string,
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(message, options);
    this.exitCode = options?.exitCode ?? 1;
  }
}
