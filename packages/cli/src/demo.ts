/**
 * `distillery demo`: the offline SpamAssassin distillation demo. The demo is an example of the
 * repository (examples/demo), not part of the published package, so the command runs it as a
 * child process from the checkout and passes every flag through (`distillery demo --help`).
 */
import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DistilleryCliError } from './errors.js';

const DEMO = fileURLToPath(new URL('../../../examples/demo/demo.ts', import.meta.url));

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the offline distillation demo (teacher, student alone, student distilled, report); flags pass through to it')
    .helpOption(false)
    .allowUnknownOption()
    .argument('[flags...]')
    .action((flags: string[]) => {
      if (!existsSync(DEMO)) {
        // Outside a checkout DEMO resolves to a meaningless path (node_modules/examples/...): don't show it.
        throw new DistilleryCliError('CLI_USAGE', '`distillery demo` runs examples/demo of the distillery repository, which an installed copy does not include; clone the repository and run `pnpm demo` in it.');
      }
      // The global --backend reaches the child the way every entry point reads it.
      const backend = program.opts<{ backend?: string }>().backend;
      const env = backend ? { ...process.env, DISTILLERY_BACKEND: backend } : process.env;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', DEMO, ...flags], { stdio: 'inherit', env });
      // The demo printed its own error; this line carries its failure to our exit status.
      if (run.status !== 0) {
        throw new DistilleryCliError('RUN_FAILED', `the demo (${DEMO}) ${run.status === null ? `was stopped by ${run.signal ?? 'a signal'}` : `exited with status ${run.status}`}; its message is above.`, { exitCode: run.status ?? 1 });
      }
    });
}
