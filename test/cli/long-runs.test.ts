/**
 * Long `distillery distill` runs, as real processes: killed with SIGKILL (whole process group) after
 * a checkpoint, or sent SIGTERM through the `pnpm distillery` launcher only (pnpm exits without
 * forwarding it), then resumed with --resume-from-checkpoint: the final model.safetensors must be
 * bit-identical to an uninterrupted run's; Ctrl-C (SIGINT to the whole group) still checkpoints;
 * `train` resumes the same way. A resume under a different config is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForSequenceClassification, parseConfig } from '@distillery/models';
import { initBackend, listCheckpoints, readCheckpoint } from '@distillery/trainer';
import * as tf from '@tensorflow/tfjs';
import { cliInProcess } from '../helpers/cli.js';
import { bertConfig, writeTask } from './fixtures.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const MAIN = join(ROOT, 'packages/cli/src/main.ts');
const MAX_STEPS = 40;
const tmp = mkdtempSync(join(tmpdir(), 'distillery-long-'));
const config = join(tmp, 'distill.json');
let reference: Buffer;

interface Run {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code (or the signal) once every holder of the output pipes (the whole tree) is gone. */
  closed: Promise<number | NodeJS.Signals | null>;
}

/** `distillery distill --config <config> ...args`, in its own process group; through `pnpm distillery` when `launcher`. */
function distill(args: string[], launcher = false): Run {
  const cli = ['--backend', 'cpu', 'distill', '--config', config, ...args];
  const child = launcher
    ? spawn('pnpm', ['--silent', 'distillery', ...cli], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', MAIN, ...cli], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
  child.stdout!.resume();
  const closed = new Promise<number | NodeJS.Signals | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  return { child, stderr: () => stderr, closed };
}

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - started;
}

/** True while any process of the group still exists (orphans keep their group). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const firstCheckpoint = (outputDir: string) => (): boolean => existsSync(join(outputDir, 'checkpoint-4', 'trainer_state.json'));

async function resumeTo(outputDir: string, from: string): Promise<Buffer> {
  const run = distill(['--output-dir', outputDir, '--resume-from-checkpoint', from]);
  expect(await run.closed, run.stderr()).toBe(0);
  return readFileSync(join(outputDir, 'model.safetensors'));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  writeTask(tmp);
  const teacher = AutoModelForSequenceClassification.fromConfig(parseConfig({ ...bertConfig(32, 2), num_labels: 2 }), 1);
  await teacher.savePretrained(join(tmp, 'teacher'));
  teacher.dispose();
  writeFileSync(config, JSON.stringify({
    teacher: 'teacher', student: bertConfig(16, 1), tokenizer: 'tok',
    data: { train: 'train.jsonl', maxLength: 16 },
    plugins: [{ type: 'logitKd', temperature: 2, alpha: 0.5 }],
    training: { outputDir: 'unused', maxSteps: MAX_STEPS, perDeviceTrainBatchSize: 8, learningRate: 0.01, saveSteps: 4, loggingSteps: 4, reportTo: [], disableTqdm: true },
  }));
  const run = distill(['--output-dir', join(tmp, 'reference')]);
  expect(await run.closed, run.stderr()).toBe(0);
  reference = readFileSync(join(tmp, 'reference', 'model.safetensors'));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('long distill runs: kill, signal, resume', () => {
  it('SIGKILL of the whole process group after the first checkpoint, then --resume-from-checkpoint: bit-identical model.safetensors', async () => {
    const outputDir = join(tmp, 'killed');
    const run = distill(['--output-dir', outputDir]);
    await until(firstCheckpoint(outputDir), 60_000);
    process.kill(-run.child.pid!, 'SIGKILL');
    await run.closed;
    const steps = (await listCheckpoints(outputDir)).map((c) => c.step);
    expect(steps.at(-1)).toBeLessThan(MAX_STEPS);
    expect(existsSync(join(outputDir, 'model.safetensors'))).toBe(false);

    // No folder: the newest complete checkpoint in outputDir.
    const resumed = await resumeTo(outputDir, outputDir);
    expect(resumed.equals(reference)).toBe(true);
  });

  it('SIGTERM to `pnpm distillery` only: the whole run is gone within 10 s, its checkpoint named, and resuming it is bit-identical', async () => {
    const outputDir = join(tmp, 'terminated');
    const run = distill(['--output-dir', outputDir], true);
    await until(firstCheckpoint(outputDir), 60_000);
    process.kill(run.child.pid!, 'SIGTERM');
    const elapsed = await until(() => !groupAlive(run.child.pid!), 10_000);
    await run.closed;
    expect(elapsed).toBeLessThan(10_000);
    const line = /^error \[INTERRUPTED\]: stopped after step (\d+) \(.*\); checkpoint (\S+) written\. Resume: rerun the same command with --resume-from-checkpoint (\S+)\.$/m.exec(run.stderr());
    expect(line, run.stderr()).not.toBeNull();
    const [, step, dir, flag] = line!;
    expect(Number(step)).toBeLessThan(MAX_STEPS);
    expect(dir).toBe(join(outputDir, `checkpoint-${step}`));
    expect(flag).toBe(dir);
    expect((await listCheckpoints(outputDir)).at(-1)!.dir).toBe(dir);

    const resumed = await resumeTo(outputDir, dir!);
    expect(resumed.equals(reference)).toBe(true);
  });

  it('Ctrl-C (SIGINT to the whole `pnpm distillery` group, launcher included): the checkpoint is still written', async () => {
    const outputDir = join(tmp, 'ctrl-c');
    const run = distill(['--output-dir', outputDir], true);
    await until(firstCheckpoint(outputDir), 60_000);
    process.kill(-run.child.pid!, 'SIGINT');
    await run.closed;
    const line = /^error \[INTERRUPTED\]: stopped after step (\d+) \(SIGINT\); checkpoint (\S+) written\./m.exec(run.stderr());
    expect(line, run.stderr()).not.toBeNull();
    expect((await listCheckpoints(outputDir)).at(-1)!.dir).toBe(line![2]);
    const ckpt = await readCheckpoint(line![2]!);
    expect(ckpt.trainerState.globalStep).toBe(Number(line![1]));
    tf.dispose([...ckpt.optimizer.tensors.values(), ...ckpt.variables.values()]);
  });

  it('a second SIGTERM ends the process at once; the newest checkpoint stays complete and readable', async () => {
    const outputDir = join(tmp, 'twice');
    const run = distill(['--output-dir', outputDir]);
    await until(firstCheckpoint(outputDir), 60_000);
    // The second signal goes the moment the first is acknowledged, while the stop is under way.
    run.child.stderr!.on('data', (d: Buffer) => void (d.toString().includes('stopping after the current step') && run.child.kill('SIGTERM')));
    run.child.kill('SIGTERM');
    // Killed by the default action, or done with the stop already (then exit status 143).
    expect(['SIGTERM', 143]).toContain(await run.closed);
    const ckpt = await readCheckpoint((await listCheckpoints(outputDir)).at(-1)!.dir);
    expect(ckpt.trainerState.globalStep).toBeGreaterThanOrEqual(4);
    tf.dispose([...ckpt.optimizer.tensors.values(), ...ckpt.variables.values()]);
  });

  it('train --resume-from-checkpoint from a copy of checkpoint-4 ends bit-identical to the uninterrupted run', async () => {
    const trainConfig = join(tmp, 'train.json');
    writeFileSync(trainConfig, JSON.stringify({
      model: bertConfig(16, 1), tokenizer: 'tok', data: { train: 'train.jsonl', maxLength: 16 },
      training: { outputDir: 'train-ref', maxSteps: 8, perDeviceTrainBatchSize: 8, learningRate: 0.01, saveSteps: 4, reportTo: [], disableTqdm: true },
    }));
    expect((await cliInProcess('train', '--config', trainConfig)).code).toBe(0);
    cpSync(join(tmp, 'train-ref', 'checkpoint-4'), join(tmp, 'train-resumed', 'checkpoint-4'), { recursive: true });
    const r = await cliInProcess('train', '--config', trainConfig, '--output-dir', join(tmp, 'train-resumed'), '--resume-from-checkpoint');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(tmp, 'train-resumed', 'model.safetensors')).equals(readFileSync(join(tmp, 'train-ref', 'model.safetensors')))).toBe(true);
  });

  it('resuming under a different config fails with one line naming the field, before training', async () => {
    const run = distill(['--output-dir', join(tmp, 'reference'), '--learning-rate', '0.02', '--resume-from-checkpoint']);
    expect(await run.closed).toBe(1);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(2); // the backend line, then the error: no model was loaded
    expect(lines[1]).toBe(`error [CHECKPOINT_MISMATCH]: --resume-from-checkpoint ${join(tmp, 'reference', `checkpoint-${MAX_STEPS}`)}: training.learningRate was 0.01 in the run that wrote it, but is 0.02 now; resume with that run's config, or start a new run in another outputDir.`);
  });
});
