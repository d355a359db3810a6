/** Every failure the `distillery` command raises on purpose: a stable `code`, one line naming the file/field/flag and the fix. */
export type CliErrorCode =
  | 'CLI_USAGE' | 'CONFIG_INVALID' | 'DATA_INVALID' | 'CHECKPOINT_MISMATCH' | 'INTERRUPTED'
  /** A destination refused before any work (see output-path.ts). */
  | 'OUTPUT_PATH_INVALID'
  /** A write failed (disk full, permissions); what was there before is intact. */
  | 'WRITE_FAILED'
  /** Reading a file failed at the OS level (the top-level catch names the path). */
  | 'IO_FAILED'
  /** The run finished but learned nothing usable (every step skipped, non-finite loss); nothing was saved. */
  | 'RUN_FAILED';

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
