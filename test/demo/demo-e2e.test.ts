// `pnpm demo --quick` end to end, in a real process: real SpamAssassin data, the real vocabulary,
// teacher → student alone → student distilled, the table's targets, the saved student reloaded,
// and the HTML report rendered in headless Chromium.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findChromium, screenshotHtml } from '../../examples/demo/screenshot.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO = join(ROOT, 'examples/demo/demo.ts');

interface DemoJson {
  teacher: { accuracy: number; encoderParams: number; msPerExample: number };
  studentAlone: { accuracy: number };
  studentDistilled: { accuracy: number; encoderParams: number; msPerExample: number };
  onnx: { fp32: { accuracy: number; msPerExample: number }; int8: { accuracy: number; msPerExample: number } };
  checks: Array<{ pass: boolean; line: string }>;
  reloadedIdentical: boolean;
}

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', DEMO, ...args], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('pnpm demo --quick', () => {
  it('distils a student that meets the targets, reloads identically, and writes a report that renders', async () => {
    const dir = tempDir('distillery-demo-');
    const { code, out } = await run(['--quick', '--out', join(dir, 'out'), '--cache', join(dir, 'cache'), '--json', join(dir, 'demo.json')]);
    expect(code, out).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')) as DemoJson;
    expect(json.checks.filter((c) => !c.pass).map((c) => c.line)).toEqual([]);
    expect(json.teacher.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(json.studentDistilled.accuracy).toBeGreaterThanOrEqual(0.97 * json.teacher.accuracy);
    expect(json.studentDistilled.accuracy).toBeGreaterThan(json.studentAlone.accuracy);
    expect(json.studentDistilled.encoderParams * 3).toBeLessThanOrEqual(json.teacher.encoderParams);
    expect(json.reloadedIdentical).toBe(true);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(dir, 'out', 'student-distilled', file)), file).toBe(true);
    // The ONNX export scores as the TF.js student (fp32); int8 within one accuracy point of fp32.
    for (const file of ['config.json', 'tokenizer.json', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) expect(existsSync(join(dir, 'out', 'student-distilled-onnx', file)), file).toBe(true);
    expect(Math.abs(json.onnx.fp32.accuracy - json.studentDistilled.accuracy)).toBeLessThanOrEqual(0.002);
    expect(Math.abs(json.onnx.int8.accuracy - json.onnx.fp32.accuracy)).toBeLessThanOrEqual(0.01);
    expect(json.onnx.int8.msPerExample).toBeGreaterThan(0);

    const chromium = findChromium();
    if (!chromium) return console.warn('skipping the report screenshot: no Chromium at /usr/bin/chromium (apt-get install chromium)');
    const shot = await screenshotHtml(join(dir, 'out', 'report.html'), join(dir, 'report.png'), { executablePath: chromium, evaluate: 'document.querySelectorAll("svg path, svg polyline").length' });
    expect(shot.consoleErrors).toEqual([]);
    expect(shot.pageErrors).toEqual([]);
    expect(shot.externalRequests).toEqual([]);
    expect(shot.evaluated as number).toBeGreaterThan(0);
  }, 300_000);
});

