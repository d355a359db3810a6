/**
 * Line charts as inline SVG strings: axes with round ticks, grid, legend, one polyline per
 * series. No scripts and no external assets, so a report stays one self-contained file.
 */

export interface Series {
  name: string;
  /** [x, y] pairs; non-finite y breaks the line (a gap, not a drop to zero). */
  points: readonly (readonly [number, number])[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** 'log' suits losses whose terms differ by orders of magnitude; needs y > 0 (others are dropped). */
  yScale?: 'linear' | 'log';
  width?: number;
  height?: number;
}

// Colour-blind-safe (Okabe–Ito), in legend order.
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Ticks at 1-2-5 multiples of a power of ten, about `count` of them spanning [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/** log10 positions of 1-2-5 (narrow range), 1-3 or 1 (wide range) × powers of ten within [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const decades = hi - lo;
  const mantissas = decades > 4 ? [1] : decades > 1.5 ? [1, 3] : [1, 2, 5];
  const ticks: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of mantissas) {
      const t = k + Math.log10(m);
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks.length >= 2 ? ticks : niceTicks(lo, hi, 4); // under a factor of 2: plain ticks in log units
}

function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

export function lineChart(series: readonly Series[], options: LineChartOptions): string {
  const { title, xLabel, yLabel, yScale = 'linear', width = 560, height = 320 } = options;
  const log = yScale === 'log';
  // Legend entries flow left to right under the title, wrapping; the plot starts below them.
  const legend: { x: number; row: number }[] = [];
  let cursor = 58;
  let row = 0;
  for (const s of series) {
    const w = 30 + s.name.length * 6.5; // swatch + text at ~6.5 px per 12 px glyph
    if (cursor + w > width - 16 && cursor > 58) [cursor, row] = [58, row + 1];
    legend.push({ x: cursor, row });
    cursor += w + 12;
  }
  const m = { top: 34 + (row + 1) * 16, right: 16, bottom: 44, left: 58 }; // title, legend, tick and axis labels
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const ty = (y: number) => (log ? Math.log10(y) : y);
  const usable = series.map((s) => ({
    name: s.name,
    points: s.points.map(([x, y]) => [x, Number.isFinite(y) && (!log || y > 0) ? ty(y) : NaN] as const).filter(([x]) => Number.isFinite(x)),
  }));
  const xs = usable.flatMap((s) => s.points.map(([x]) => x));
  const ys = usable.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);

  const head = `<svg class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${escapeXml(title)}">`;
  const titleEl = `<text x="${width / 2}" y="20" text-anchor="middle" class="chart-title">${escapeXml(title)}</text>`;
  if (ys.length === 0) {
    return `${head}${titleEl}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" class="muted">no data</text></svg>`;
  }

  // Pad flat ranges so a constant series still gets an axis.
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => m.top + (1 - (y - y0) / (y1 - y0)) * plotH;

  const xTicks = niceTicks(x0, x1, 6);
  const yTicks = log ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  const parts: string[] = [head, titleEl];
  for (const t of yTicks) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y}" dy="0.32em" text-anchor="end" class="tick">${formatTick(log ? 10 ** t : t)}</text>`);
  }
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" x2="${x}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" class="axis"/>`);
    parts.push(`<text x="${x}" y="${m.top + plotH + 16}" text-anchor="middle" class="tick">${formatTick(t)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" class="frame"/>`);
  parts.push(`<text x="${m.left + plotW / 2}" y="${height - 8}" text-anchor="middle" class="axis-label">${escapeXml(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeXml(yLabel)}${log ? ' (log)' : ''}</text>`,
  );

  usable.forEach((s, k) => {
    const color = PALETTE[k % PALETTE.length] as string;
    // Split at gaps so missing values do not draw a line across them.
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (Number.isFinite(y)) runs[runs.length - 1]?.push(`${px(x).toFixed(1)},${py(y).toFixed(1)}`);
      else if (runs[runs.length - 1]?.length) runs.push([]);
    }
    const label = escapeXml(s.name);
    for (const run of runs.filter((r) => r.length > 0)) {
      parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${color}" stroke-width="1.8"><title>${label}</title></polyline>`);
      // Sparse series (eval every epoch) read better with markers.
      if (s.points.length <= 30) {
        for (const p of run) {
          const [cx, cy] = p.split(',');
          parts.push(`<circle cx="${cx}" cy="${cy}" r="2.8" fill="${color}"/>`);
        }
      }
    }
    const entry = legend[k];
    if (entry) {
      const ly = 34 + entry.row * 16;
      parts.push(`<line x1="${entry.x}" x2="${entry.x + 18}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
      parts.push(`<text x="${entry.x + 24}" y="${ly}" dy="0.32em" class="legend">${label}</text>`);
    }
  });
  parts.push('</svg>');
  return parts.join('\n');
}
