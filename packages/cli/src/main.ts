/**
 * The `distillery` command line. Each subcommand lives in a sibling file exporting a
 * `register(program)` function; add it to COMMANDS. A global `--backend` picks the compute
 * backend before any command runs. Typed errors print as one line with their code.
 */
import 'reflect-metadata';
import { Command, Option } from 'commander';
import { initBackend, type BackendName } from '@distillery/backends';
import { registerDemo } from './demo.js';
import { registerDistill } from './distill.js';
import { registerEval } from './eval.js';
import { registerForward } from './forward.js';
import { gracefulStop } from './signals.js';
import { registerTrain } from './train.js';

const COMMANDS: Array<(program: Command) => void> = [registerTrain, registerDistill, registerEval, registerForward, registerDemo];

export function buildProgram(): Command {
  const program = new Command('distillery')
    .description('Train and distil BERT-family models on TensorFlow.js')
    .addOption(new Option('--backend <name>', 'compute backend (default: fastest available, or DISTILLERY_BACKEND)').choices(['tensorflow', 'webgpu', 'native', 'wasm', 'cpu']))
    .hook('preAction', async (cmd) => {
      const backend = cmd.opts<{ backend?: BackendName }>().backend;
      await initBackend(backend ? { backend } : {});
    });
  for (const register of COMMANDS) register(program);
  return program;
}

gracefulStop.install();
try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  const err = e as Error & { code?: string; exitCode?: number };
  // Our typed errors carry a code and an actionable message; anything else is a bug worth a stack.
  console.error(err.name?.startsWith('Distillery') ? `error [${err.code}]: ${err.message}` : err);
  process.exitCode = err.exitCode ?? 1;
}
