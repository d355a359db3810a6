/** Every failure `@distillery/backends` raises on purpose: a stable `code`, a message naming the setting and the fix. */
export type BackendsErrorCode = 'BACKEND_UNAVAILABLE' | 'BACKEND_UNKNOWN';

export class DistilleryBackendsError extends Error {
  override readonly name = 'DistilleryBackendsError';
  constructor(
    readonly code: BackendsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
