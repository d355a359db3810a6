/** The run the SIGKILL test kills (in a child process) and then resumes (in the test process). */
import { Trainer, type TrainingArgumentsInit } from '@distillery/trainer';
import { TinyClassifier } from './tiny-classifier.js';
import { majorityTask } from './data.js';

export const crashArgs = (outputDir: string): TrainingArgumentsInit => ({
  outputDir,
  maxSteps: 6,
  perDeviceTrainBatchSize: 8,
  saveStrategy: 'steps',
  saveSteps: 2,
  learningRate: 1e-2,
  weightDecay: 0.01,
  disableTqdm: true,
  reportTo: [],
});

export const crashData = majorityTask(40, 21);

/** Writes its weights, then announces SAVING and hangs on the `hangOnCall`-th save, so the parent can kill it mid-checkpoint. */
export class HangingSaveClassifier extends TinyClassifier {
  private saves = 0;
  constructor(private readonly hangOnCall: number) {
    super({ dropout: 0.1 }, 5);
  }

  override async savePretrained(dir: string): Promise<void> {
    super.savePretrained(dir);
    if (++this.saves !== this.hangOnCall) return;
    process.stdout.write(`SAVING ${dir}\n`);
    await new Promise((resolve) => setTimeout(resolve, 120_000));
  }
}

export function crashTrainer(model: TinyClassifier, outputDir: string) {
  return new Trainer({ model, args: crashArgs(outputDir), trainDataset: crashData });
}
