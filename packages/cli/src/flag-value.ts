/** Value parsers for flags that do not go through a config file (forward, export). */
import { InvalidArgumentError } from 'commander';

/**
 * A path or name flag must say something: `--model ""` (an unset shell variable) would otherwise
 * reach a loader as the current folder or a nameless hub id. Commander turns the refusal into one
 * CLI_USAGE line naming the flag.
 */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('it is empty; pass a path or name.');
  return value;
}
