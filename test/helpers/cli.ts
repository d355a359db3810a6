/** The `distillery` command run in-process through its real entry (runCli), console captured. */
import { vi } from 'vitest';
import { runCli } from '../../packages/cli/src/program.js';

export interface CliOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** `distillery --backend cpu ...args`: exit code and what it printed (errors with their stacks, if any). */
export async function cliInProcess(...args: string[]): Promise<CliOutcome> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { out.push(a.map(String).join(' ')); });
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => { err.push(a.map((x) => (x instanceof Error ? x.stack : String(x))).join(' ')); });
  try {
    const code = await runCli(['node', 'distillery', '--backend', 'cpu', ...args]);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
