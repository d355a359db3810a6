/**
 * `TrainerState` (what the run has done: plain JSON, saved as trainer_state.json) and
 * `TrainerControl` (what the loop should do next: flags callbacks set, reset by the handler).
 */

/** One entry of the log history: the logged values plus the step they belong to. */
export type LogEntry = Record<string, number> & { step: number };

export interface TrainerState {
  /** Fractional epoch, e.g. 1.5 = halfway through the second epoch. */
  epoch: number;
  globalStep: number;
  maxSteps: number;
  numTrainEpochs: number;
  loggingSteps: number;
  evalSteps: number;
  saveSteps: number;
  trainBatchSize: number;
  logHistory: LogEntry[];
  bestMetric: number | null;
  bestGlobalStep: number | null;
  bestModelCheckpoint: string | null;
  trialName: string | null;
  /** Steps skipped by the NaN/Inf guard. */
  skippedSteps: number[];
  /** HF's `stateful_callbacks`: each stateful callback's `state()` by name, so a resumed run restores it. */
  statefulCallbacks: Record<string, unknown>;
}

export interface TrainerControl {
  shouldTrainingStop: boolean;
  shouldEpochStop: boolean;
  shouldSave: boolean;
  shouldEvaluate: boolean;
  shouldLog: boolean;
}

export function createTrainerState(init: Pick<TrainerState, 'maxSteps' | 'numTrainEpochs' | 'loggingSteps' | 'evalSteps' | 'saveSteps' | 'trainBatchSize'>): TrainerState {
  return { epoch: 0, globalStep: 0, logHistory: [], bestMetric: null, bestGlobalStep: null, bestModelCheckpoint: null, trialName: null, skippedSteps: [], statefulCallbacks: {}, ...init };
}

export function createTrainerControl(): TrainerControl {
  return { shouldTrainingStop: false, shouldEpochStop: false, shouldSave: false, shouldEvaluate: false, shouldLog: false };
}
