import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { AutoTokenizer, DistilleryModelsError, readSafetensors, writeWordPieceTokenizer } from '@distillery/models';
import { safetensorsCases } from './generate.js';

interface Case { path: string; kind: string; code: string; mentions?: string; what: string }

const ROOT = import.meta.dirname;
const manifest = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as { cases: Case[] };
const scratch = mkdtempSync(join(tmpdir(), 'distillery-bad-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** kind → how a user would open such an input, and the error class it must raise. */
const LOADERS: Record<string, { error: new (...args: never[]) => Error; load: (path: string) => unknown }> = {
  safetensors: { error: DistilleryModelsError, load: (path) => readSafetensors(path) },
  tokenizer: { error: DistilleryModelsError, load: (path) => AutoTokenizer.fromPretrained(path) },
  vocab: { error: DistilleryModelsError, load: (path) => writeWordPieceTokenizer(path, join(scratch, 'vocab-out')) },
};

describe('bad-input corpus', () => {
  it.each(manifest.cases.map((c) => [c.path, c] as const))('%s', async (_, c) => {
    const loader = LOADERS[c.kind];
    expect(loader, `no loader for kind "${c.kind}" in corpus.test.ts`).toBeDefined();
    const path = join(ROOT, c.path);
    let thrown: unknown;
    try {
      await loader!.load(path);
    } catch (e) {
      thrown = e;
    }
    expect(thrown, `${c.path} (${c.what}) loaded without error`).toBeInstanceOf(loader!.error);
    const error = thrown as Error & { code: string };
    expect(error.code).toBe(c.code);
    expect(error.message).toContain(path);
    if (c.mentions) expect(error.message).toContain(c.mentions);
  });

  it('lists every corpus file in the manifest, and only existing ones', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const full = join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else files.push(relative(ROOT, full));
      }
    };
    for (const name of readdirSync(ROOT)) if (statSync(join(ROOT, name)).isDirectory()) walk(join(ROOT, name));
    const orphans = files.filter((f) => !manifest.cases.some((c) => f === c.path || f.startsWith(`${c.path}/`)));
    expect(orphans).toEqual([]);
    const missing = manifest.cases.filter((c) => !files.some((f) => f === c.path || f.startsWith(`${c.path}/`)));
    expect(missing).toEqual([]);
  });

  it('committed safetensors cases match generate.ts', () => {
    for (const [name, bytes] of safetensorsCases()) {
      expect(Buffer.from(readFileSync(join(ROOT, 'safetensors', name))).equals(Buffer.from(bytes)), name).toBe(true);
    }
  });
});
