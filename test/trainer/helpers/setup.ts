/** Shared fixtures for trainer tests: a fresh temp outputDir and a quiet argument set. */
import { tempDir as makeTempDir } from '../../helpers/tmp.js';
import type { TrainingArgumentsInit } from '@distillery/trainer';

export function tempDir(): string {
  return makeTempDir('distillery-trainer-');
}

/** No progress bar, no metrics file, no saving unless asked: tests opt in to what they check. */
export function quietArgs(overrides: Partial<TrainingArgumentsInit> = {}): TrainingArgumentsInit {
  return { outputDir: tempDir(), disableTqdm: true, reportTo: [], saveStrategy: 'no', learningRate: 1e-2, ...overrides };
}
