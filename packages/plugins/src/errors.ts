/** Every failure `@distillery/plugins` raises on purpose: a stable `code`, a message naming the field and the fix. */
export type PluginsErrorCode =
  | 'PLUGIN_CONFIG_INVALID'
  | 'OUTPUT_MISSING'
  | 'SHAPE_MISMATCH'
  | 'VOCAB_MISMATCH'
  | 'LABELS_MISMATCH'
  | 'CACHE_LIMIT'
  | 'CACHE_INVALID'
  | 'CACHE_MISS'
  | 'CLI_USAGE'
  | 'CONFIG_INVALID'
  | 'DATA_INVALID';

export class DistilleryPluginsError extends Error {
  override readonly name = 'DistilleryPluginsError';
  constructor(
    readonly code: PluginsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
