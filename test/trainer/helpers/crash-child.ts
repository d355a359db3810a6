/** Child process for the SIGKILL test: trains until the second checkpoint write hangs. */
import { HangingSaveClassifier, crashTrainer } from './crash-run.js';

const outputDir = process.argv[2];
if (!outputDir) throw new Error('usage: crash-child.ts <outputDir>');
await crashTrainer(new HangingSaveClassifier(2), outputDir).train();
