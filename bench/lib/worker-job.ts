/** The parent ↔ worker protocol of `pnpm bench` (kept apart: importing worker.ts would run it). */
import type { Backend } from './spec.js';

export interface WorkerJob {
  backend: Backend;
  /** A pair name, or 'bert-base' for the 12-layer student check. */
  pair: string;
  reps: number;
  /** Extra distill steps over which numTensors must stay flat (0 = skip). */
  leakSteps: number;
}

/** Marks the worker's result line on stdout; every other line is a log line. */
export const ROW_MARKER = '@@row ';
