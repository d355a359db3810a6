/**
 * What the page (app.ts) publishes as `window.distillery` and the driver (drive.ts) reads back
 * through playwright: one type for both sides of that boundary.
 */
export interface PageState {
  status: 'idle' | 'loading' | 'training' | 'done' | 'error';
  backend?: string;
  adapter?: string;
  losses: Array<{ step: number; loss: number }>;
  /** Files in OPFS after the run: the newest checkpoint's folder and the saved student's. */
  saved?: { runFiles: string[]; checkpoint: string; checkpointFiles: string[]; studentFiles: string[]; metricsLines: number };
  /** The student reloaded from OPFS gives the trained model's logits bit for bit. */
  reload?: { identical: boolean; maxAbsDiff: number; values: number };
  error?: string;
}
