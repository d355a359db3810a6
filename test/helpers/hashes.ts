/** SHA-256 of every file under a folder: what the bad-input tests compare to prove nothing was touched. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** sha256 of every file under `root` (or of `root` itself), by path. */
export function hashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string): void => {
    if (statSync(p).isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
    else out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
  };
  walk(root);
  return out;
}
