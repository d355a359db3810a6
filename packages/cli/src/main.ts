/** The `distillery` executable: see program.ts. Signals stop a run cleanly (signals.ts). */
import { runCli } from './program.js';
import { gracefulStop } from './signals.js';

gracefulStop.install();
process.exitCode = await runCli(process.argv);
