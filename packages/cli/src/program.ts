/**
 * The `distillery` command line. Each subcommand lives in a sibling file exporting a
 * `register(program)` function; add it to COMMANDS. A global `--backend` picks the compute
 * backend before any command runs. Typed errors print as one line with their code. Kept apart
 * from main.ts so tests can run a command in-process (`runCli`) without a process per case.
 */
import 'reflect-metadata';
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_NAMES, initBackend, type BackendName } from '@distillery/backends';
import { registerCacheTeacher } from './cache-teacher.js';
import { registerDemo } from './demo.js';
import { registerDistill } from './distill.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerForward } from './forward.js';
import { registerTrain } from './train.js';
import { DistilleryCliError } from './errors.js';
import { systemErrorReason } from './output-path.js';

const COMMANDS: Array<(program: Command) => void> = [registerTrain, registerDistill, registerCacheTeacher, registerEval, registerForward, registerDemo, registerExport];

export function buildProgram(): Command {
  const program = new Command('distillery')
    .description('Train and distil BERT-family models on TensorFlow.js')
    // Commander's refusals (unknown flag, missing value, bad choice) throw instead of calling
    // process.exit, so runCli prints them as one typed line and returns its code in-process too.
    // Set before the subcommands register: they inherit both settings.
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .addOption(new Option('--backend <name>', 'compute backend (default: fastest available, or DISTILLERY_BACKEND)').choices(BACKEND_NAMES))
    .hook('preAction', async (cmd) => {
      const backend = cmd.opts<{ backend?: BackendName }>().backend;
      await initBackend(backend ? { backend } : {});
    });
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * One line for every failure we can name: our typed errors (any package's Distillery*Error), and
 * Node system errors (ENOSPC, EACCES, ...) with the path they hit. Anything else is a bug worth
 * its stack.
 */
export function errorLine(e: unknown): string | undefined {
  const err = e as Error & { code?: unknown; path?: unknown; syscall?: unknown };
  if (err?.name?.startsWith('Distillery')) return `error [${String(err.code)}]: ${err.message}`;
  const reason = systemErrorReason(e);
  if (reason === undefined) return undefined;
  const where = typeof err.path === 'string' ? err.path : `(${String(err.syscall ?? 'I/O')})`;
  return `error [IO_FAILED]: ${where}: ${reason}.`;
}

/** Run the command line `argv` (node, script, ...args); failures print as errorLine. Returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (thrown) {
    let e = thrown;
    if (e instanceof CommanderError) {
      // --help / --version printed what was asked (exit 0); a bare `distillery` printed its help (exit 1).
      if (e.exitCode === 0 || e.code === 'commander.help') return e.exitCode;
      e = usageError(e, argv);
    }
    console.error(errorLine(e) ?? e);
    // An interrupted run exits as a signalled process would (130 / 143, see signals.ts).
    return (e as { exitCode?: number }).exitCode ?? 1;
  }
}

/** A commander refusal as one CLI_USAGE line that says where the valid flags are listed. */
function usageError(e: CommanderError, argv: readonly string[]): DistilleryCliError {
  const command = buildProgram().commands.find((c) => argv.slice(2).includes(c.name()))?.name();
  const help = command ? `distillery ${command} --help` : 'distillery --help';
  const what = e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
  return new DistilleryCliError('CLI_USAGE', `${what}; \`${help}\` lists the valid ones.`, { cause: e });
}
