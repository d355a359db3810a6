/** Failures `@distillery/storage` raises itself: a stable `code`, a message naming the path or API and the fix. I/O errors of a store pass through unchanged, for the caller to name in its own terms. */
export type StorageErrorCode = 'STORAGE_UNAVAILABLE' | 'PATH_INVALID';

export class DistilleryStorageError extends Error {
  override readonly name = 'DistilleryStorageError';
  constructor(
    readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
