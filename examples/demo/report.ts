/**
 * The demo's HTML report: one self-contained file (inline CSS and SVG, no scripts, no network)
 * with the results table, loss curves per term for each run, and eval curves per model.
 * Its input is a plain JSON-able summary, so a report can be re-rendered from a saved run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { escapeXml, lineChart } from './chart.js';
import type { Series } from './chart.js';
import type { DataStats } from './data.js';
import { DistilleryDemoError } from './errors.js';
import { fmtInt, resultsRows } from './results.js';
import type { ModelResult } from './results.js';

/** A TrainerState.logHistory entry: training logs carry `loss` and per-term losses, eval logs `eval_*`. */
export type LogRecord = Readonly<Record<string, number>> & { readonly step: number };

export interface RunLog {
  name: string; // e.g. "student distilled"
  logHistory: readonly LogRecord[];
}

export interface ReportSummary {
  title: string;
  /** ISO timestamp of the run. */
  createdAt: string;
  /** Run settings shown as given: seed, labelled fraction, backend, max length, … */
  settings: Readonly<Record<string, string | number | boolean>>;
  /** The first result is the reference (the teacher) for the relative columns. */
  results: readonly ModelResult[];
  runs: readonly RunLog[];
  data?: DataStats;
  /** Free-text lines under the table, e.g. the acceptance checks. */
  notes?: readonly string[];
}

// Logged numbers that are bookkeeping, not quality metrics.
const NOT_METRICS = new Set(['eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);

/** Training-loss keys: `loss` and its terms (`loss/kd/soft`, ...), not the end-of-run `train_loss` or eval losses. */
const isLossTerm = (k: string) => k.includes('loss') && !/^(eval|train|test)_/.test(k);

/**
 * Eval metrics worth a cross-model chart. `eval_loss` is left out: each run minimises its own
 * objective (the distilled student's includes KD terms), so their losses do not compare.
 */
const isEvalMetric = (k: string) => k.startsWith('eval_') && !NOT_METRICS.has(k) && !k.includes('loss');

function validate(summary: ReportSummary): void {
  const bad = (field: string, value: unknown, want: string) => {
    throw new DistilleryDemoError('REPORT_INVALID', `report summary: ${field} must be ${want}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  if (summary.results.length === 0) bad('results', summary.results, 'a non-empty list (the reference model first)');
  summary.results.forEach((r, i) => {
    for (const key of ['accuracy', 'f1', 'params', 'encoderParams', 'msPerExample'] as const) {
      if (!(Number.isFinite(r[key]) && r[key] >= 0)) bad(`results[${i}].${key}`, r[key], 'a finite number ≥ 0');
    }
  });
  summary.runs.forEach((run, i) =>
    run.logHistory.forEach((e, j) => {
      if (!Number.isFinite(e.step)) bad(`runs[${i}].logHistory[${j}].step`, e.step, 'a finite number');
    }),
  );
}

function resultsTable(results: readonly ModelResult[]): string {
  const { head, rows } = resultsRows(results);
  const body = rows.map((cells, i) => {
    const description = results[i]?.description;
    const name = `<th scope="row">${escapeXml(cells[0] ?? '')}${description ? `<div class="muted">${escapeXml(description)}</div>` : ''}</th>`;
    return `<tr>${name}${cells.slice(1).map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`;
  });
  return `<table class="results"><thead><tr>${head.map((h) => `<th scope="col">${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function dataTable(stats: DataStats): string {
  const rows = Object.entries(stats.splits).map(([name, [ham, spam]]) => `<tr><th scope="row">${name}</th><td>${fmtInt(ham + spam)}</td><td>${fmtInt(ham)}</td><td>${fmtInt(spam)}</td></tr>`);
  return `<p>${fmtInt(stats.raw)} emails → ${fmtInt(stats.kept)} kept (${stats.empty} empty, ${stats.duplicates} duplicates, ${stats.conflicting} with conflicting labels dropped).</p>
<table><thead><tr><th scope="col">split</th><th scope="col">texts</th><th scope="col">ham</th><th scope="col">spam</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function numericKeys(logs: readonly LogRecord[], keep: (key: string) => boolean): string[] {
  return [...new Set(logs.flatMap((e) => Object.keys(e).filter((k) => keep(k) && typeof e[k] === 'number')))];
}

function seriesOf(logs: readonly LogRecord[], key: string, name = key): Series {
  return { name, points: logs.filter((e) => key in e).map((e) => [e.step, e[key] as number] as const) };
}

/** Training loss and every per-term loss of one run; log scale when terms differ by > 30×. */
function lossChart(run: RunLog): string {
  const keys = numericKeys(run.logHistory, isLossTerm).sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : a.localeCompare(b)));
  const series = keys.map((k) => seriesOf(run.logHistory, k));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const log = ys.length > 0 && ys.every((y) => y > 0) && Math.max(...ys) / Math.min(...ys) > 30;
  return lineChart(series, { title: `${run.name}: training losses`, xLabel: 'step', yLabel: 'loss', yScale: log ? 'log' : 'linear' });
}

/** One chart per eval metric (accuracy and F1 first), one line per run. */
function evalCharts(runs: readonly RunLog[]): string[] {
  const metrics = numericKeys(runs.flatMap((r) => r.logHistory), isEvalMetric);
  const rank = (k: string) => ['eval_accuracy', 'eval_f1'].indexOf(k) >>> 0; // unknown → last
  metrics.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return metrics.map((metric) => {
    const label = metric.slice('eval_'.length);
    return lineChart(
      runs.map((r) => seriesOf(r.logHistory, metric, r.name)),
      { title: `validation ${label}`, xLabel: 'step', yLabel: label },
    );
  });
}

export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1f24; margin: 24px auto; max-width: 1180px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d8dee4; padding-bottom: 4px; }
.muted { color: #656d76; font-size: 12px; font-weight: normal; }
table { border-collapse: collapse; margin: 8px 0; } th, td { padding: 5px 10px; border-bottom: 1px solid #d8dee4; text-align: right; }
th[scope=row] { text-align: left; } thead th { background: #f6f8fa; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; } dl.settings dt { color: #656d76; } dl.settings dd { margin: 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #d8dee4; border-radius: 6px; font-size: 12px; }
svg .grid { stroke: #eaeef2; } svg .axis { stroke: #656d76; } svg .frame { fill: none; stroke: #afb8c1; }
svg .tick, svg .legend { fill: #1b1f24; } svg .axis-label { fill: #656d76; } svg .chart-title { font-weight: 600; font-size: 13px; }
svg .muted { fill: #656d76; }
ul.notes { padding-left: 20px; }
`;

export function renderReport(summary: ReportSummary): string {
  validate(summary);
  const settings = Object.entries(summary.settings).map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(String(v))}</dd>`);
  // The summary rides along as inert JSON, so scripts can read the numbers back from the file.
  const json = JSON.stringify(summary).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(summary.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<h1>${escapeXml(summary.title)}</h1>
<div class="muted">${escapeXml(summary.createdAt)}</div>
<dl class="settings">${settings.join('')}</dl>
<h2>Results (test set)</h2>
${resultsTable(summary.results)}
${summary.notes?.length ? `<ul class="notes">${summary.notes.map((n) => `<li>${escapeXml(n)}</li>`).join('')}</ul>` : ''}
<h2>Validation curves</h2>
<div class="charts">${evalCharts(summary.runs).join('\n')}</div>
<h2>Training losses</h2>
<div class="charts">${summary.runs.map(lossChart).join('\n')}</div>
${summary.data ? `<h2>Data</h2>\n${dataTable(summary.data)}` : ''}
<script type="application/json" id="summary">${json}</script>
</body>
</html>
`;
}

/** Renders and writes the report, creating the folder; returns the path. */
export function writeReport(path: string, summary: ReportSummary): string {
  const html = renderReport(summary);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
  return path;
}
