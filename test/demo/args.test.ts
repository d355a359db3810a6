import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../examples/demo/args.js';

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
