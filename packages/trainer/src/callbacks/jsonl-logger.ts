/** Appends every log (training and eval) as one JSON line to `<outputDir>/metrics.jsonl`. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CallbackHook, TrainerCallback } from './handler.js';

export class JsonlLoggerCallback implements TrainerCallback {
  readonly name = 'JsonlLoggerCallback';

  constructor(private readonly file?: string) {}

  onLog: CallbackHook = (args, state, _control, ctx) => {
    const path = this.file ?? join(args.outputDir, 'metrics.jsonl');
    mkdirSync(args.outputDir, { recursive: true });
    appendFileSync(path, `${JSON.stringify({ step: state.globalStep, epoch: state.epoch, ...ctx.logs })}\n`);
  };
}
