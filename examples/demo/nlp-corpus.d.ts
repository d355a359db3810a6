// nlp-corpus ships no types; these are the two functions the demo reads (src/server/index.js).
declare module 'nlp-corpus' {
  /** The first `max` sentences, reading the corpus files in order. */
  export function some(max?: number): string[];
  /** All ~100,000 sentences. */
  export function all(): string[];
}
