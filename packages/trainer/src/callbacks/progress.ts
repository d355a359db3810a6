/**
 * A terminal progress bar (cli-progress) with ETA and the live loss. Silent when stdout is not a
 * TTY (CI, pipes): metrics.jsonl carries the numbers there.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { CallbackHook, TrainerCallback } from './handler.js';

export class ProgressCallback implements TrainerCallback {
  readonly name = 'ProgressCallback';
  private bar: SingleBar | undefined;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  onTrainBegin: CallbackHook = (_args, state) => {
    if (!this.stream.isTTY) return;
    this.bar = new SingleBar({ stream: this.stream, format: 'train |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | ETA {eta_formatted}', hideCursor: true }, Presets.shades_classic);
    this.bar.start(state.maxSteps, state.globalStep, { loss: '-', lr: '-' });
  };

  onStepEnd: CallbackHook = (_args, state) => {
    this.bar?.update(state.globalStep);
  };

  onLog: CallbackHook = (_args, state, _control, ctx) => {
    const loss = ctx.logs?.loss;
    const lr = ctx.logs?.learning_rate;
    this.bar?.update(state.globalStep, { ...(loss !== undefined && { loss: loss.toFixed(4) }), ...(lr !== undefined && { lr: lr.toExponential(2) }) });
  };

  onTrainEnd: CallbackHook = () => this.stop();
  onException: CallbackHook = () => this.stop();

  private stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
