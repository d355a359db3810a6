/**
 * Every example runs to completion in its short mode (a real `tsx` process each) and prints what
 * it claims. Their temp folders go to a private TMPDIR, removed afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'distillery-examples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function example(name: string): Promise<string> {
  const { stdout } = await run(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', join(ROOT, 'examples', name), '--short'], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: tmp },
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** The numbers of the first line matching `re` (its capture groups). */
function numbers(stdout: string, re: RegExp): number[] {
  const m = re.exec(stdout);
  expect(m, `${re} in:\n${stdout}`).not.toBeNull();
  return m!.slice(1).map(Number);
}

const fraction = (x: number) => expect(x >= 0 && x <= 1, `${x} is an accuracy`).toBe(true);

describe('examples (short mode)', () => {
  it('custom-plugin: the DI-registered margin term is trained and logged next to logit KD', async () => {
    const out = await example('custom-plugin.ts');
    const rows = [...out.matchAll(/^step (\d+): loss ([\d.]+)\s+kd ([\d.]+)\s+margin ([\d.]+)$/gm)];
    expect(rows.map((r) => Number(r[1]))).toEqual([4, 8]);
  });

  it('composed-objectives: three weighted terms, the hidden weight decaying to 0 by mid-run, T annealed 4 → 1', async () => {
    const out = await example('composed-objectives.ts');
    expect(out).toMatch(/^step {2}loss {4}\| kd \(weight\)\s+\| hidden \(weight\)\s+\| attention \(weight\)\s+\| T$/m);
    const rows = [...out.matchAll(/^\s*(\d+)\s+([\d.]+)\s+\| (\S+) \(([\d.]+)\)\s+\| (\S+) \(([\d.]+)\)\s+\| (\S+) \(([\d.]+)\)\s+\| ([\d.]+)$/gm)].map((r) => r.slice(1).map(Number));
    expect(rows.map((r) => r[0])).toEqual([6, 12, 18, 24]);
    expect(rows.map((r) => r[5])).toEqual([0.5, 0, 0, 0]); // hidden weight: linear 1 → 0 over steps 0..12
    expect(rows.map((r) => r[7])).toEqual([0.5, 0.5, 0.5, 0.5]); // attention: constant
    expect(rows.map((r) => r[8])).toEqual([3.25, 2.5, 1.75, 1]); // temperature: linear 4 → 1
    for (const r of rows) for (const v of [r[1], r[2], r[4], r[6]]) expect(Number.isFinite(v) && v! >= 0).toBe(true);
    numbers(out, /held-out accuracy: teacher ([\d.]+), distilled student ([\d.]+)/).forEach(fraction);
  });

  it('hand-written-loop: the own loop logs through Trainer callbacks (console + metrics.jsonl) with computeLoss', async () => {
    const out = await example('hand-written-loop.ts');
    const losses = [...out.matchAll(/^step (\d+): loss ([\d.]+)$/gm)];
    expect(losses.map((r) => Number(r[1]))).toEqual([10, 20, 30]);
    const m = /^stopped at step 30\/30; (\d+) log lines in (\S+); held-out accuracy ([\d.]+); tensors alive (\d+)$/m.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(3);
    expect(m![2]!.startsWith(tmp)).toBe(true);
    fraction(Number(m![3]));
  });

  it('tinybert-two-stage: intermediate-layer terms first, then the prediction layer alone', async () => {
    const out = await example('tinybert-two-stage.ts');
    expect(out).toContain('layer map (student ← teacher hidden states): 1←2 2←4');
    const rows = [...out.matchAll(/^step +(\d+) \[(\w+)\] (.*)$/gm)].map((r) => ({ step: Number(r[1]), stage: r[2], terms: r[3]!.split(', ').map((t) => t.split(' ')[0]) }));
    expect(rows.map((r) => r.step)).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
    for (const r of rows) {
      expect(r.stage).toBe(r.step <= 12 ? 'intermediate' : 'prediction');
      expect(r.terms).toEqual(r.step <= 12 ? ['embedding', 'hidden', 'attention'] : ['prediction']);
    }
    numbers(out, /held-out accuracy: teacher ([\d.]+), TinyBERT student ([\d.]+)/).forEach(fraction);
  });

  it('general-mlm: real bert-base-uncased word pieces on nlp-corpus sentences, masked-LM teacher and student', async () => {
    const out = await example('general-mlm.ts');
    expect(out).toMatch(/^64 sentences, vocabulary 30522 word pieces; e\.g\. \["cr","##eak","##iness","and",/m);
    const [teacher, , before, , after] = numbers(out, /teacher ([\d.]+) \/ (\d+), student before ([\d.]+) \/ (\d+), after ([\d.]+) \/ (\d+)/);
    // Untrained, every model sits near ln(30522) ≈ 10.3 nats; these are finite, sane losses.
    for (const loss of [teacher!, before!, after!]) expect(loss > 5 && loss < 12, `${loss}`).toBe(true);
  });
});
