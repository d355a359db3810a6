/**
 * The README's hand-written-loop section is examples/objective-loop.ts verbatim, and that loop
 * lowers the distillation loss without leaving tensors behind.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'examples/objective-loop.ts');

it('README shows examples/objective-loop.ts verbatim', () => {
  const block = /<!-- examples\/objective-loop\.ts, verbatim -->\n```ts\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  expect(block, 'README section with its marker comment').not.toBeNull();
  expect(block![1]).toBe(readFileSync(EXAMPLE, 'utf8'));
});

it('distils in a hand-written loop: the loss falls and the tensor count stays flat', async () => {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', EXAMPLE], { cwd: ROOT });
  const m = /^loss ([\d.]+) → ([\d.]+) over 20 steps; tensors alive after each step from the 2nd: (\d+)$/m.exec(stdout);
  expect(m, stdout).not.toBeNull();
  expect(Number(m![2])).toBeLessThan(Number(m![1]));
});
