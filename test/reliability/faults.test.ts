/**
 * Fault tests with real child processes (tsx): a run SIGKILLed in the middle of a training step,
 * and a run whose disk fills up while it writes a checkpoint. Either way the newest complete
 * checkpoint survives, nothing half-written is left, and resuming finishes bit-identical to an
 * uninterrupted run. (SIGKILL during the checkpoint write itself: test/trainer/crash.test.ts.)
 * Plus savePretrained on a full disk, in process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DistilleryModelsError } from '@distillery/models';
import { initBackend, listCheckpoints, readCheckpoint } from '@distillery/trainer';
import * as tf from '@tensorflow/tfjs';
import { armDiskQuota } from './helpers/disk-quota.js';
import { MAX_STEPS, faultModel, faultTrainer, snapshot } from './helpers/fault-run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/fault-child.ts', import.meta.url));
const PREFIX = 'distillery-faults-';
const tmpBefore = new Set(readdirSync(tmpdir()));
const scratch = mkdtempSync(join(tmpdir(), PREFIX));
let reference: Map<string, Float32Array>;

interface ChildResult {
  stdout: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Run the child; SIGKILL it as soon as its stdout shows `killOn`. */
function runChild(mode: 'kill-mid-step' | 'disk-full', outputDir: string, killOn?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // node with tsx's loader, not the tsx CLI: the CLI runs the script in a grandchild, which a SIGKILL
    // of the CLI would orphan (still training, still writing into outputDir).
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', CHILD, mode, outputDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (killOn && stdout.includes(killOn)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 || signal === 'SIGKILL' ? resolve({ stdout, code, signal }) : reject(new Error(`child exited ${code}:\n${stderr}`))));
  });
}

/** Resume the run in `outputDir` with a fresh model, checking it picks up after step `from`; returns its final weights. */
async function resume(outputDir: string, from: number): Promise<Map<string, Float32Array>> {
  const model = faultModel();
  const stepsRun: number[] = [];
  const trainer = faultTrainer(model, outputDir, [{ onStepEnd: (_args, state) => void stepsRun.push(state.globalStep) }]);
  await trainer.train({ resumeFromCheckpoint: true });
  // Only the lost steps run again: a restart from scratch would reach the same weights too.
  expect(stepsRun).toEqual(Array.from({ length: MAX_STEPS - from }, (_, i) => from + 1 + i));
  const weights = snapshot(model);
  model.dispose();
  return weights;
}

/** Names of entries a writer left half-done (temp or displaced checkpoint folders). */
const leftovers = (outputDir: string): string[] => readdirSync(outputDir).filter((n) => n.startsWith('.tmp-') || n.startsWith('.old-'));

function expectSameWeights(actual: Map<string, Float32Array>): void {
  expect([...actual.keys()]).toEqual([...reference.keys()]);
  for (const [name, values] of actual) expect(Buffer.from(values.buffer).equals(Buffer.from(reference.get(name)!.buffer)), name).toBe(true);
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const model = faultModel();
  await faultTrainer(model, join(scratch, 'reference')).train();
  reference = snapshot(model);
  model.dispose();
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  // Nothing of ours stays in the temp folder (the children write only under `scratch`).
  expect([...readdirSync(tmpdir())].filter((n) => !tmpBefore.has(n) && n.startsWith(PREFIX))).toEqual([]);
});

describe('faults during training', () => {
  it('SIGKILL in the middle of a training step: the checkpoints so far survive and resume matches an uninterrupted run', async () => {
    const outputDir = join(scratch, 'killed');
    const { signal, stdout } = await runChild('kill-mid-step', outputDir, 'MID-STEP 5');
    expect(signal).toBe('SIGKILL');
    expect(stdout).toContain('MID-STEP 5');
    expect((await listCheckpoints(outputDir)).map((c) => c.step)).toEqual([2, 4]);
    expect(leftovers(outputDir)).toEqual([]);

    expectSameWeights(await resume(outputDir, 4));
    expect((await listCheckpoints(outputDir)).map((c) => c.step)).toEqual([2, 4, 6, 8]);
  });

  it('disk full while writing a checkpoint: typed WRITE_FAILED, the previous checkpoint intact, resume matches', async () => {
    const outputDir = join(scratch, 'disk-full');
    const { stdout } = await runChild('disk-full', outputDir);
    const result = JSON.parse(/RESULT (.*)/.exec(stdout)![1]!) as { code: string; message: string; cause?: string };
    expect(result.code).toBe('WRITE_FAILED');
    expect(result.cause).toBe('ENOSPC');
    expect(result.message).toContain(join(outputDir, 'checkpoint-4'));
    expect(result.message).toMatch(/free disk space/);

    // The failed write left nothing behind; checkpoint-2 is complete and loads.
    expect(readdirSync(outputDir)).toEqual(['checkpoint-2']);
    const ckpt = await readCheckpoint(join(outputDir, 'checkpoint-2'));
    expect(ckpt.trainerState.globalStep).toBe(2);
    tf.dispose([...ckpt.optimizer.tensors.values(), ...ckpt.variables.values()]);

    // Space freed again: resuming from checkpoint-2 finishes exactly like the uninterrupted run.
    expectSameWeights(await resume(outputDir, 2));
  });

  it('savePretrained on a full disk: typed WRITE_FAILED, the previous save intact, no temp file', async () => {
    const dir = join(scratch, 'saved');
    const model = faultModel();
    await model.savePretrained(dir);
    const before = readFileSync(join(dir, 'model.safetensors'));
    model.namedParameters().get('classifier.bias')!.assign(tf.ones([2]));
    const restore = armDiskQuota(before.length / 2);
    let thrown: unknown;
    try {
      await model.savePretrained(dir);
    } catch (e) {
      thrown = e;
    } finally {
      restore();
    }
    expect(thrown).toBeInstanceOf(DistilleryModelsError);
    expect(thrown).toMatchObject({ code: 'WRITE_FAILED', cause: { code: 'ENOSPC' } });
    expect((thrown as Error).message).toContain(join(dir, 'model.safetensors'));
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true);
    model.dispose();
  });
});
