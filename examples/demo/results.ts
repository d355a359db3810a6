/**
 * The demo's scoreboard: per-model numbers, their ratios against the teacher, the console
 * table, and the acceptance targets checked on them.
 */

export interface ModelResult {
  name: string;
  /** Short architecture line, e.g. "BERT L=4 H=256 A=4". */
  description?: string;
  accuracy: number;
  f1: number;
  params: number;
  /** Transformer encoder only (no embeddings, pooler or head): what distillation shrinks. */
  encoderParams: number;
  msPerExample: number;
}

export interface Relative {
  /** accuracy / reference accuracy. */
  accuracyRatio: number;
  /** encoder params / reference encoder params. */
  encoderRatio: number;
  /** reference ms per example / ms per example. */
  speedUp: number;
}

export function relativeTo(reference: ModelResult, r: ModelResult): Relative {
  return {
    accuracyRatio: r.accuracy / reference.accuracy,
    encoderRatio: r.encoderParams / reference.encoderParams,
    speedUp: reference.msPerExample / r.msPerExample,
  };
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const fmtPct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Column headers and formatted cells, shared by the console table and the HTML report. */
export function resultsRows(results: readonly ModelResult[]): { head: string[]; rows: string[][] } {
  const ref = results[0];
  if (!ref) return { head: [], rows: [] };
  const head = ['model', 'accuracy', `vs ${ref.name}`, 'F1', 'params', 'encoder params', `encoder vs ${ref.name}`, 'ms / example', 'speed-up'];
  const rows = results.map((r) => {
    const rel = relativeTo(ref, r);
    return [r.name, r.accuracy.toFixed(4), fmtPct(rel.accuracyRatio), r.f1.toFixed(4), fmtInt(r.params), fmtInt(r.encoderParams), fmtPct(rel.encoderRatio), r.msPerExample.toFixed(2), `${rel.speedUp.toFixed(2)}×`];
  });
  return { head, rows };
}

/** Plain-text table: first column left-aligned, numbers right-aligned. */
export function formatResultsTable(results: readonly ModelResult[]): string {
  const { head, rows } = resultsRows(results);
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((r) => (r[k] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k] ?? 0) : c.padStart(widths[k] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface TargetCheck {
  pass: boolean;
  /** One line saying the target and the measured value. */
  line: string;
}

// The acceptance targets.
export const TARGETS = {
  teacherAccuracy: 0.95,
  accuracyRatio: 0.97,
  encoderRatio: 1 / 3,
  speedUp: 2,
  /** "Clearly ahead of the student alone": at least one accuracy point. */
  marginOverAlone: 0.01,
} as const;

export function checkTargets(teacher: ModelResult, alone: ModelResult, distilled: ModelResult): TargetCheck[] {
  const rel = relativeTo(teacher, distilled);
  const margin = distilled.accuracy - alone.accuracy;
  const check = (pass: boolean, line: string): TargetCheck => ({ pass, line: `${pass ? '✔' : '✘'} ${line}` });
  return [
    check(teacher.accuracy >= TARGETS.teacherAccuracy, `teacher test accuracy ${teacher.accuracy.toFixed(4)} (target ≥ ${TARGETS.teacherAccuracy})`),
    check(rel.accuracyRatio >= TARGETS.accuracyRatio, `distilled student reaches ${fmtPct(rel.accuracyRatio)} of the teacher's accuracy (target ≥ ${fmtPct(TARGETS.accuracyRatio)})`),
    check(rel.encoderRatio <= TARGETS.encoderRatio, `with ${fmtPct(rel.encoderRatio)} of its encoder parameters (target ≤ ${fmtPct(TARGETS.encoderRatio)})`),
    check(rel.speedUp >= TARGETS.speedUp, `and ${rel.speedUp.toFixed(2)}× its inference speed (target ≥ ${TARGETS.speedUp}×)`),
    check(
      margin >= TARGETS.marginOverAlone,
      `distilled vs student alone: accuracy ${margin >= 0 ? '+' : ''}${(100 * margin).toFixed(1)} points, F1 ${distilled.f1 - alone.f1 >= 0 ? '+' : ''}${(100 * (distilled.f1 - alone.f1)).toFixed(1)} points (target ≥ +${100 * TARGETS.marginOverAlone})`,
    ),
  ];
}
