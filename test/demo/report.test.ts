import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineChart, logTicks, niceTicks } from '../../examples/demo/chart.js';
import { DistilleryDemoError } from '../../examples/demo/errors.js';
import { renderReport, writeReport } from '../../examples/demo/report.js';
import type { LogRecord, ReportSummary } from '../../examples/demo/report.js';
import { findChromium, screenshotHtml } from '../../examples/demo/screenshot.js';
import { seededRandom } from '../../examples/demo/split.js';

/**
 * Log histories shaped like real runs: losses decaying with noise, logged every 10 steps,
 * eval every 50 steps with accuracy rising towards a ceiling.
 */
function fakeRun(seed: number, steps: number, terms: Record<string, [start: number, end: number]>, accCeiling: number): LogRecord[] {
  const rand = seededRandom(seed);
  const logs: LogRecord[] = [];
  for (let step = 10; step <= steps; step += 10) {
    const t = step / steps;
    const entry: Record<string, number> = { step, epoch: 3 * t, learning_rate: 5e-4 * (1 - t) };
    let total = 0;
    for (const [name, [start, end]] of Object.entries(terms)) {
      entry[name] = end + (start - end) * Math.exp(-4 * t) * (0.9 + 0.2 * rand());
      total += entry[name];
    }
    logs.push({ ...entry, loss: total, step });
    if (step === steps) logs.push({ step, train_loss: total * 1.5, train_runtime: 100 }); // the end-of-run summary
    if (step % 50 === 0) {
      const acc = accCeiling - (accCeiling - 0.7) * Math.exp(-5 * t) - 0.01 * rand();
      logs.push({ step, epoch: 3 * t, eval_loss: 0.7 * (1 - acc), eval_accuracy: acc, eval_f1: acc - 0.03, eval_runtime: 1.2 });
    }
  }
  return logs;
}

function summary(): ReportSummary {
  return {
    title: 'distillery demo: SpamAssassin',
    createdAt: '2025-01-01T12:00:00.000Z',
    settings: { seed: 42, 'labelled fraction': 0.1, backend: 'wasm', 'max length': 128, quick: false },
    results: [
      { name: 'teacher', description: 'BERT L=4 H=256 A=4', accuracy: 0.978, f1: 0.962, params: 12_650_000, encoderParams: 3_160_000, msPerExample: 4.8 },
      { name: 'student alone', description: 'BERT L=2 H=128 A=2', accuracy: 0.912, f1: 0.851, params: 4_330_000, encoderParams: 396_000, msPerExample: 1.2 },
      { name: 'student distilled', description: 'BERT L=2 H=128 A=2', accuracy: 0.961, f1: 0.934, params: 4_330_000, encoderParams: 396_000, msPerExample: 1.2 },
    ],
    runs: [
      { name: 'teacher', logHistory: fakeRun(1, 600, { 'loss/ce': [0.69, 0.05] }, 0.98) },
      { name: 'student alone', logHistory: fakeRun(2, 200, { 'loss/ce': [0.69, 0.2] }, 0.91) },
      { name: 'student distilled', logHistory: fakeRun(3, 400, { 'loss/kd': [0.5, 0.02], 'loss/hidden': [40, 3], 'loss/attention': [0.3, 0.05], 'loss/ce': [0.69, 0.1] }, 0.96) },
    ],
    data: {
      raw: 6046, empty: 0, duplicates: 168, conflicting: 0, kept: 5878,
      splits: { train: [3285, 1418], validation: [410, 177], test: [411, 177], labelled: [329, 142], unlabelled: [2956, 1276] },
    },
    notes: ['distilled student: 98.3% of teacher accuracy with 12.5% of its encoder parameters, 4.0× faster'],
  };
}

describe('lineChart', () => {
  it('ticks at round numbers covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(13, 987, 5)).toEqual([200, 400, 600, 800]);
    // Log axes: 1-2-5 steps over a decade, 1-3 over two, powers of ten beyond.
    const at = (lo: number, hi: number) => logTicks(Math.log10(lo), Math.log10(hi)).map((t) => Number((10 ** t).toPrecision(6)));
    expect(at(0.015, 0.3)).toEqual([0.02, 0.05, 0.1, 0.2]);
    expect(at(0.002, 0.5)).toEqual([0.003, 0.01, 0.03, 0.1, 0.3]);
    expect(at(1e-5, 40)).toEqual([1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10]);
  });

  it('maps points into the plot and breaks lines at missing values', () => {
    const svg = lineChart([{ name: 'a', points: [[0, 0], [5, NaN], [10, 1], [20, 2]] }], { title: 't', xLabel: 'x', yLabel: 'y', width: 400, height: 300 });
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
    expect(lines.map((l) => l.length)).toEqual([1, 2]); // the NaN splits [0] from [10, 20]
    const [[x0, y0]] = lines[0] as [[number, number]];
    const [[x1, y1], [x2, y2]] = lines[1] as [[number, number], [number, number]];
    expect(x0).toBeLessThan(x1); // larger x to the right
    expect(y1).toBeLessThan(y0); // larger y higher up (SVG y grows downwards)
    expect(x2 - x1).toBeCloseTo(x1 - x0, 0); // linear in x
    expect(y2).toBeLessThan(y1);
  });

  it('draws "no data" rather than failing on empty series', () => {
    expect(lineChart([{ name: 'a', points: [] }], { title: 't', xLabel: 'x', yLabel: 'y' })).toContain('no data');
  });
});

describe('renderReport', () => {
  it('writes the results table with ratios against the teacher', () => {
    const html = renderReport(summary());
    const rows = [...html.matchAll(/<tr><th scope="row">(.*?)<\/tr>/g)].map((m) => m[1]!);
    const distilled = rows.find((r) => r.startsWith('student distilled'))!;
    const cells = [...distilled.matchAll(/<td>(.*?)<\/td>/g)].map((m) => m[1]);
    // accuracy, vs teacher, F1, params, encoder params, encoder vs teacher, ms, speed-up
    expect(cells).toEqual(['0.9610', '98.3%', '0.9340', '4,330,000', '396,000', '12.5%', '1.20', '4.00×']);
  });

  it('draws one eval chart per metric and one loss chart per run, with every loss term', () => {
    const html = renderReport(summary());
    const titles = [...html.matchAll(/<svg class="chart"[^>]*aria-label="([^"]+)"/g)].map((m) => m[1]);
    expect(titles).toEqual([
      'validation accuracy', 'validation f1',
      'teacher: training losses', 'student alone: training losses', 'student distilled: training losses',
    ]);
    const distilledChart = html.slice(html.indexOf('aria-label="student distilled: training losses"'));
    for (const term of ['loss', 'loss/attention', 'loss/ce', 'loss/hidden', 'loss/kd']) expect(distilledChart).toContain(`class="legend">${term}<`);
    expect(distilledChart).toContain('loss (log)'); // hidden MSE ~40 vs KD ~0.02: log axis
    expect(html).not.toContain('validation runtime');
    expect(html).not.toContain('validation loss'); // each run's objective differs: not comparable
    expect(html).not.toContain('class="legend">train_loss<'); // the run summary is no curve
  });

  it('is self-contained and carries the summary as data', () => {
    const s = summary();
    const html = renderReport(s);
    expect(html).not.toMatch(/https?:|\bsrc=|<link\b|@import/);
    expect(html.match(/<script\b[^>]*>/g)).toEqual(['<script type="application/json" id="summary">']);
    const json = /<script type="application\/json" id="summary">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(s)));
  });

  it('names the bad field of an invalid summary', () => {
    const s = summary();
    const bad = { ...s, results: [s.results[0]!, { ...s.results[1]!, f1: Number.NaN }] };
    expect(() => renderReport(bad)).toThrow(DistilleryDemoError);
    expect(() => renderReport(bad)).toThrow(/results\[1\]\.f1 must be a finite number/);
  });
});

const chromium = findChromium();
const browserTitle = chromium
  ? 'opens in headless Chromium without errors or network requests, charts drawn'
  : 'opens in headless Chromium — SKIPPED: no Chromium at $CHROMIUM_PATH or /usr/bin/chromium (apt-get install -y chromium)';

describe('report in a browser', () => {
  it.skipIf(!chromium)(browserTitle, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'distillery-report-'));
    try {
      const htmlPath = writeReport(join(dir, 'report', 'index.html'), summary());
      const pngPath = join(dir, 'report.png');
      const result = await screenshotHtml(htmlPath, pngPath, {
        // Per chart: how many polylines the browser laid out with a non-empty box.
        evaluate: `[...document.querySelectorAll('svg.chart')].map(s => [...s.querySelectorAll('polyline')].filter(p => { const b = p.getBBox(); return b.width > 0 && b.height > 0; }).length)`,
      });
      expect(result.consoleErrors).toEqual([]);
      expect(result.pageErrors).toEqual([]);
      expect(result.externalRequests).toEqual([]);
      expect(result.evaluated).toEqual([3, 3, 2, 2, 5]);
      const png = readFileSync(pngPath);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      // IHDR: width and height, big-endian, at bytes 16..24; full-page shot of the whole report.
      expect(png.readUInt32BE(16)).toBe(1280);
      expect(png.readUInt32BE(20)).toBe(result.height);
      expect(result.height).toBeGreaterThan(900);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
