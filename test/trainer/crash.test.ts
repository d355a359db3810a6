import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listCheckpoints, readCheckpoint } from '@distillery/trainer';
import * as tf from '@tensorflow/tfjs';
import { TinyClassifier } from './helpers/tiny-classifier.js';
import { HangingSaveClassifier, crashTrainer } from './helpers/crash-run.js';
import { maxAbsDiff } from './helpers/data.js';
import { tempDir } from './helpers/setup.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/crash-child.ts', import.meta.url));

/** Run the child until it announces the hanging save, then SIGKILL it. */
function killDuringSave(outputDir: string): Promise<{ signal: NodeJS.Signals | null; saving: string }> {
  return new Promise((resolve, reject) => {
    // Run tsx as a loader inside this very process: the tsx CLI would run the script in a grandchild
    // that a SIGKILL of the CLI never reaches.
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=distillery-source', CHILD, outputDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let saving = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /SAVING (\S+)/.exec(out);
      if (m && !saving) {
        saving = m[1]!;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d: Buffer) => void (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => (saving ? resolve({ signal, saving }) : reject(new Error(`child exited (${code}) before saving:\n${err}`))));
  });
}

describe('SIGKILL during a checkpoint write', () => {
  it('leaves the previous checkpoint loadable, and resume finishes exactly like an uninterrupted run', async () => {
    const dir = tempDir();
    const { signal, saving } = await killDuringSave(dir);
    expect(signal).toBe('SIGKILL');
    // It died inside the write of checkpoint-4: a temp folder holds the half-written files.
    expect(saving).toMatch(/\.tmp-checkpoint-4-\d+$/);
    expect(existsSync(join(saving, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(saving, 'trainer_state.json'))).toBe(false);
    expect(existsSync(join(dir, 'checkpoint-4'))).toBe(false);
    expect((await listCheckpoints(dir)).map((c) => c.step)).toEqual([2]);
    const ckpt = await readCheckpoint(join(dir, 'checkpoint-2'));
    expect(ckpt.trainerState.globalStep).toBe(2);
    tf.dispose([...ckpt.optimizer.tensors.values(), ...ckpt.variables.values()]);

    const resumedModel = new TinyClassifier({ dropout: 0.1 }, 77);
    const resumed = crashTrainer(resumedModel, dir);
    await resumed.train({ resumeFromCheckpoint: true });
    expect(resumed.state.globalStep).toBe(6);
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp-'))).toEqual([]);

    const referenceModel = new HangingSaveClassifier(Infinity);
    await crashTrainer(referenceModel, tempDir()).train();
    expect(maxAbsDiff(resumedModel.snapshot(), referenceModel.snapshot())).toBe(0);
    resumedModel.dispose();
    referenceModel.dispose();
  });
});
