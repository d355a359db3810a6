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
        throw new DistilleryCliError('CLI_USAGE', `the demo ships with the distillery repository (examples/demo/demo.ts) and was not found at ${DEMO}; clone the repository and run \`pnpm demo\`.`);
      }
      // The global --backend reaches the child the way every entry point reads it.
      const backend = program.opts<{ backend?: string }>().backend;
      const env = backend ? { ...process.env, DISTILLERY_BACKEND: backend } : process.env;
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', DEMO, ...flags], { stdio: 'inherit', env });
      process.exitCode = run.status ?? 1;
    });
}
