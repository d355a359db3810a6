// `distillery forward` end to end: a real process (tsx), a fixture folder in, expected.json's shape out.
import { tempDir } from '../helpers/tmp.js';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { expectClose } from './compare.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CASE = join(ROOT, 'test/fixtures/parity/bert_seqcls');
const run = promisify(execFile);

function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', join(ROOT, 'packages/cli/src/main.ts'), ...args], { cwd: ROOT });
}

describe('distillery forward', () => {
  it('writes logits, loss, hidden states, attentions and the requested gradients matching the fixture', async () => {
    const out = join(tempDir('distillery-fwd-'), 'out.json');
    const expected = JSON.parse(readFileSync(join(CASE, 'expected.json'), 'utf8'));
    const grads = Object.keys(expected.gradients);
    await cli(['forward', '--model', CASE, '--inputs', join(CASE, 'inputs.json'), '--grads', grads.join(','), '--out', out, '--backend', 'cpu']);
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expectClose(report.logits, expected.logits, expected.tolerance.logits, 'logits');
    expectClose(report.loss, expected.loss, expected.tolerance.loss, 'loss');
    expectClose(report.hidden_states, expected.hidden_states, expected.tolerance.hidden_states, 'hidden_states');
    expectClose(report.attentions, expected.attentions, expected.tolerance.attentions, 'attentions');
    expect(Object.keys(report.gradients).sort()).toEqual([...grads].sort());
    for (const name of grads) {
      expect(report.gradients[name].shape).toEqual(expected.gradients[name].shape);
      expectClose(report.gradients[name].values, expected.gradients[name].values, { atol: expected.tolerance.gradients.atol[name], rtol: 1e-3 }, name);
    }
  });

  it('fails with one typed line and exit code 1 on an unknown parameter name', async () => {
    const out = join(tempDir('distillery-fwd-'), 'out.json');
    const err = await cli(['forward', '--model', CASE, '--inputs', join(CASE, 'inputs.json'), '--grads', 'no.such.weight', '--out', out, '--backend', 'cpu']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/error \[UNKNOWN_PARAMETER\]: --grads: "no.such.weight"/);
  });
});
