// `pnpm demo --task masked-lm --quick` end to end, in a real process: nlp-corpus sentences, a
// masked-LM teacher, two distilled students (initialised from the teacher vs random), the
// perplexity table and curves, and the HTML report.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface MlmJson {
  rows: Array<{ model: string; loss: number; perplexity: number; params: number }>;
  curves: Array<{ name: string; points: Array<[number, number]> }>;
}

it('pnpm demo --task masked-lm --quick: the teacher-initialised student has the lower perplexity all along; report written', async () => {
  const dir = tempDir('distillery-mlm-demo-');
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', join(ROOT, 'examples/demo/demo.ts'), '--task', 'masked-lm', '--quick', '--out', dir, '--json', join(dir, 'mlm.json')], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
    let text = '';
    child.stdout.on('data', (d: Buffer) => void (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (c) => resolve({ code: c, out: text }));
  });
  expect(code, out).toBe(0);
  const json = JSON.parse(readFileSync(join(dir, 'mlm.json'), 'utf8')) as MlmJson;
  expect(json.rows.map((r) => r.model)).toEqual(['teacher', 'student, initialised from the teacher', 'student, random init']);
  for (const r of json.rows) expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 6);
  const [teacher, fromTeacher, random] = json.rows;
  expect(fromTeacher!.params).toBe(random!.params);
  expect(fromTeacher!.params).toBeLessThan(teacher!.params);
  const [a, b] = json.curves;
  expect(a!.points.map(([s]) => s)).toEqual(b!.points.map(([s]) => s));
  a!.points.forEach(([step, p], i) => expect(p, `perplexity at step ${step}`).toBeLessThan(b!.points[i]![1]));
  const html = readFileSync(join(dir, 'masked-lm', 'report.html'), 'utf8');
  expect(html).toContain('<svg');
  expect(html).toContain('student, initialised from the teacher');
}, 600_000);
