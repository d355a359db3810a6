/**
 * Stopping a run from outside without losing it. SIGINT / SIGTERM, or the death of the process
 * that launched this one (pnpm and shells exit on SIGTERM without forwarding it, leaving us
 * orphaned), ask the training loop to stop at the end of the current optimizer step and write a
 * checkpoint; the command then exits non-zero saying how to resume. A second signal ends the
 * process at once (the default action): checkpoints are written to a temp folder and renamed, so
 * the last complete one survives.
 * Outside training (loading models, evaluating, saving) a signal exits at once.
 */
import type { TrainerCallback } from '@distillery/trainer';

export interface StopRequest {
  /** What asked, e.g. "SIGTERM" or "parent process 41 exited". */
  reason: string;
  /** 128 + the signal number, as a shell reports a signalled process. */
  exitCode: number;
}

const SIGNALS = { SIGINT: 130, SIGTERM: 143 } as const;
/** A parent that dies is reported like a hang-up (SIGHUP). */
const PARENT_DIED_EXIT = 129;
const PARENT_POLL_MS = 250;

export class GracefulStop {
  private pending: StopRequest | undefined;
  private training = false;
  private installed = false;
  /** The newest checkpoint written in this process. */
  private lastCheckpoint: string | undefined;

  /** The stop asked for during training, if any. */
  get requested(): StopRequest | undefined {
    return this.pending;
  }

  get checkpointDir(): string | undefined {
    return this.lastCheckpoint;
  }

  /** Listen for the signals and watch the parent process; once per process. */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    for (const [signal, exitCode] of Object.entries(SIGNALS)) process.on(signal, this.onSignal(signal, exitCode));
    const parent = process.ppid;
    // Reparenting (to init or a subreaper) is the only sign of a parent's death that every launcher gives.
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(watch);
        this.request({ reason: `parent process ${parent} exited`, exitCode: PARENT_DIED_EXIT });
      }
    }, PARENT_POLL_MS);
    watch.unref();
    // A parent that spawned us with an IPC channel (e.g. the tsx CLI) closes it when it dies.
    if (process.channel) process.on('disconnect', () => this.request({ reason: 'parent process closed the IPC channel', exitCode: PARENT_DIED_EXIT }));
  }

  private readonly listeners = new Map<string, () => void>();

  private onSignal(signal: string, exitCode: number): () => void {
    const listener = (): void => this.request({ reason: signal, exitCode });
    this.listeners.set(signal, listener);
    return listener;
  }

  private request(stop: StopRequest): void {
    // Already stopping: only a second signal (the default action, below) cuts the stop short. A
    // launcher that dies of the same Ctrl-C (pnpm does) must not, or the checkpoint would be lost.
    if (this.pending) return;
    if (!this.training) {
      const kept = this.lastCheckpoint ? `; the last complete checkpoint is ${this.lastCheckpoint}` : '';
      console.error(`[distillery] ${stop.reason}: exiting now${kept}.`);
      process.exit(stop.exitCode);
    }
    this.pending = stop;
    // Without listeners the signals get their default action back: a second one ends the process
    // at once, even inside a step's synchronous compute, where no JS handler could run.
    for (const [signal, listener] of this.listeners) process.removeListener(signal, listener);
    console.error(`[distillery] ${stop.reason}: stopping after the current step and writing a checkpoint (signal again to exit at once).`);
  }

  /** The callback that turns a pending stop into "save, then stop" at the next step end. */
  callback(): TrainerCallback {
    return {
      name: 'GracefulStopCallback',
      onTrainBegin: () => void (this.training = true),
      onStepEnd: async (_args, _state, control) => {
        // Let signal handlers and the parent watch run: a step's awaits settle as microtasks only.
        await new Promise((resolve) => setImmediate(resolve));
        if (!this.pending) return;
        control.shouldSave = true;
        control.shouldTrainingStop = true;
      },
      onEpochEnd: (_args, _state, control) => {
        // Stopping mid-epoch: no epoch-end evaluation or second save of the same step.
        if (!this.pending) return;
        control.shouldLog = false;
        control.shouldEvaluate = false;
        control.shouldSave = false;
      },
      onSave: (_args, _state, _control, ctx) => void (this.lastCheckpoint = ctx.checkpointDir),
      onTrainEnd: () => void (this.training = false),
    };
  }
}

/** The process's one instance: main installs it, the training commands attach its callback. */
export const gracefulStop = new GracefulStop();
