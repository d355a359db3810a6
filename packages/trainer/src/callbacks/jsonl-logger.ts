/**
 * Appends every log (training and eval) as one JSON line to `<outputDir>/metrics.jsonl`. A run
 * continues the log an earlier run (or the run it resumes) wrote there, as HF's log history
 * does; a file there that is not such a log is the user's and is never written to.
 */
import { defaultFileStore, joinPath, parentPath, readText, type FileStore } from '@distillery/storage';
import { DistilleryTrainerError } from '../errors.js';
import type { CallbackHook, TrainerCallback } from './handler.js';

export class JsonlLoggerCallback implements TrainerCallback {
  readonly name = 'JsonlLoggerCallback';
  /** The path checked by `prepare` (once per log file). */
  private ready: string | undefined;

  constructor(
    private readonly file?: string,
    private readonly store: FileStore = defaultFileStore(),
  ) {}

  /** Checked before the first step, so a refused log costs no training. */
  onTrainBegin: CallbackHook = async (args) => {
    await this.prepare(args.outputDir);
  };

  onLog: CallbackHook = async (args, state, _control, ctx) => {
    const path = await this.prepare(args.outputDir);
    try {
      await this.store.appendFile(path, `${JSON.stringify({ step: state.globalStep, epoch: state.epoch, ...ctx.logs })}\n`);
    } catch (cause) {
      throw logWriteFailed('metrics log', this.store.absolute(path), cause);
    }
  };

  private async prepare(outputDir: string): Promise<string> {
    const path = this.file ?? joinPath(outputDir, 'metrics.jsonl');
    if (this.ready === path) return path;
    const shown = this.store.absolute(path);
    let kind: 'file' | 'directory' | undefined;
    try {
      kind = (await this.store.stat(path))?.kind;
      if (kind === undefined) await this.store.mkdir(parentPath(path));
    } catch (cause) {
      throw logWriteFailed('metrics log', shown, cause);
    }
    if (kind === 'directory' || (kind === 'file' && !isMetricsLog(await readText(this.store, path)))) {
      throw new DistilleryTrainerError('OUTPUT_PATH_INVALID', `the metrics log ${shown} ${kind === 'directory' ? 'is a folder' : 'already exists and is not a metrics log a Trainer wrote'}; nothing was written to it. Move it away, choose another outputDir, or leave "jsonl" out of reportTo.`);
    }
    this.ready = path;
    return path;
  }
}

/** A log write that failed at the OS level, as one typed line naming the file and the fix. */
export function logWriteFailed(what: string, path: string, cause: unknown): DistilleryTrainerError {
  return new DistilleryTrainerError('WRITE_FAILED', `could not write the ${what} ${path}: ${(cause as Error).message}; check the folder, free disk space and permissions.`, { cause });
}

/** Empty, or JSON lines whose first is an object with a numeric `step` (what onLog writes). */
function isMetricsLog(text: string): boolean {
  const first = text.split('\n', 1)[0]!.trim();
  if (first === '') return text.trim() === '';
  try {
    const row = JSON.parse(first) as { step?: unknown } | null;
    return typeof row === 'object' && row !== null && typeof row.step === 'number';
  } catch {
    return false;
  }
}
