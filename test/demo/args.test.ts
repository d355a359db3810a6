import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_USAGE, checkDemoPaths, parseDemoArgs } from '../../examples/demo/args.js';

describe('parseDemoArgs', () => {
  it('fills defaults', () => {
    expect(parseDemoArgs([])).toEqual({ task: 'sequence-classification', quick: false, seed: 42, labelledFraction: 0.05, outDir: 'runs/demo', cacheDir: '.cache/demo', help: false });
  });

  it('reads every flag', () => {
    const o = parseDemoArgs(['--task', 'masked-lm', '--quick', '--seed', '7', '--labelled-fraction', '0.05', '--teacher', 'runs/t', '--json', 'r.json', '--out', 'o', '--cache', 'c', '--backend', 'webgpu']);
    expect(o).toEqual({ task: 'masked-lm', quick: true, seed: 7, labelledFraction: 0.05, teacher: 'runs/t', json: 'r.json', outDir: 'o', cacheDir: 'c', backend: 'webgpu', help: false });
  });

  it('names the bad flag', () => {
    expect(() => parseDemoArgs(['--labelled-fraction', '1.5'])).toThrow(/--labelled-fraction must be a number in \(0, 1\], got "1.5"/);
    expect(() => parseDemoArgs(['--seed', 'x'])).toThrow(/--seed must be a non-negative integer/);
    expect(() => parseDemoArgs(['--sed', '1'])).toThrow(/--sed.*see pnpm demo --help/);
    expect(() => parseDemoArgs(['--backend', 'cuda'])).toThrow(/--backend must be one of tensorflow, webgpu, native, wasm, cpu, got "cuda"/);
    expect(() => parseDemoArgs(['--task', 'ner'])).toThrow(/--task must be sequence-classification or masked-lm, got "ner"/);
  });
});

describe('the demo\'s flags, every one from its usage text, with careless values', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'distillery-demo-args-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const notes = join(tmp, 'notes.txt');
  writeFileSync(notes, 'my notes\n');
  mkdirSync(join(tmp, 'folder'));
  /** `--name VALUE` lines of DEMO_USAGE: a new flag is swept without touching this test. */
  const valueFlags = [...DEMO_USAGE.matchAll(/^\s+--([a-z-]+) \S/gm)].map((m) => m[1]!);

  it('each value flag refuses an empty or nonsense value, or a file where a folder goes, by name and before any work', () => {
    expect(valueFlags).toEqual(expect.arrayContaining(['task', 'seed', 'labelled-fraction', 'teacher', 'json', 'out', 'cache', 'backend']));
    const values = ['', 'zzz-not-a-value', '-1', 'NaN', '1e400', notes, join(notes, 'under'), join(tmp, 'folder'), './no-such-folder'];
    let refused = 0;
    for (const flag of valueFlags) {
      for (const value of values) {
        try {
          checkDemoPaths(parseDemoArgs([`--${flag}`, value]));
        } catch (e) {
          expect((e as Error).name).toBe('DistilleryDemoError');
          expect((e as Error).message).toContain(`--${flag}`);
          refused++;
        }
      }
    }
    expect(readFileSync(notes, 'utf8')).toBe('my notes\n');
    // Exact outcomes for the path flags (the rest are numbers and choices, refused above by name).
    expect(() => checkDemoPaths(parseDemoArgs(['--out', notes]))).toThrow(/--out .*notes\.txt: is a file; name a folder/);
    expect(() => checkDemoPaths(parseDemoArgs(['--cache', join(notes, 'c')]))).toThrow(/--cache .*: lies under .*notes\.txt, which is a file/);
    expect(() => checkDemoPaths(parseDemoArgs(['--json', join(tmp, 'folder')]))).toThrow(/--json .*folder: is a folder/);
    expect(() => checkDemoPaths(parseDemoArgs(['--json', notes]))).toThrow(/--json .*notes\.txt: already exists and is not a report of this demo/);
    expect(() => checkDemoPaths(parseDemoArgs(['--teacher', './no-such-folder']))).toThrow(/--teacher \.\/no-such-folder: does not exist/);
    expect(refused).toBeGreaterThanOrEqual(valueFlags.length * 3);
  });
});
