/** Appends every log (training and eval) as one JSON line to `<outputDir>/metrics.jsonl`. */
import { defaultFileStore, joinPath, type FileStore } from '@distillery/storage';
import { DistilleryTrainerError } from '../errors.js';
import type { CallbackHook, TrainerCallback } from './handler.js';

export class JsonlLoggerCallback implements TrainerCallback {
  readonly name = 'JsonlLoggerCallback';

  constructor(
    private readonly file?: string,
    private readonly store: FileStore = defaultFileStore(),
  ) {}

  onLog: CallbackHook = async (args, state, _control, ctx) => {
    const path = this.file ?? joinPath(args.outputDir, 'metrics.jsonl');
    try {
      await this.store.mkdir(args.outputDir);
      await this.store.appendFile(path, `${JSON.stringify({ step: state.globalStep, epoch: state.epoch, ...ctx.logs })}\n`);
    } catch (cause) {
      throw new DistilleryTrainerError('WRITE_FAILED', `could not append to the metrics log ${path} in ${this.store.where}: ${(cause as Error).message}; check outputDir, free space and permissions.`, { cause });
    }
  };
}
