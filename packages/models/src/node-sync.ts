/**
 * Synchronous readers for Node callers (the CLI, scripts, tests) that cannot await. They read the
 * file system directly; everything that must also run in a browser uses the asynchronous
 * `readConfig` / `readWeights` with a FileStore instead. Only this file of the package imports
 * `node:fs`, and a browser bundle that never calls these leaves it out.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { configFromText, configUnreadable, type ModelConfig } from './config.js';
import { parseSafetensors, weightsUnreadable, type SafetensorsFile } from './safetensors.js';

/** Read `<dir>/config.json`; a missing or malformed file is a typed error naming it. */
export function loadConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw configUnreadable(file, cause);
  }
  return configFromText(text, file);
}

/** Read and validate a safetensors file from disk. */
export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    // A wrong path is the caller's typed error (WEIGHTS_MISSING); stat first so a huge file is not slurped blindly.
    statSync(path);
    bytes = readFileSync(path);
  } catch (cause) {
    throw weightsUnreadable(path, cause);
  }
  return parseSafetensors(bytes, path);
}
