/**
 * What a user adopting the plugins in their own code relies on: root-container plugins are
 * collected without passing `container`, borrowing `computeLoss` in a hand-written loop frees
 * every per-term tensor, plugins can ask for the pooled output, and `requireOutput` names what
 * is missing.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container } from 'tsyringe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import {
  DistillationTrainer, DistilleryPluginsError, HiddenStatePlugin, LOSS_PLUGIN, LogitKdPlugin, requireOutput,
  type DistillInputs, type LossContext, type LossPlugin, type OutputRequest,
} from '@distillery/plugins';
import { initBackend, type Example } from '@distillery/trainer';
import { DISTILL_DIR } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'distill-adoption-'));
const load = (who: 'teacher' | 'student') => BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}${who}`, { log: false });
const examples: Example[] = Array.from({ length: 8 }, (_, i) => ({ inputIds: [2, 10 + i, 20 + 2 * i, 3], label: i % 2 }));
const args = (name: string) => ({ outputDir: join(tmp, name), maxSteps: 2, perDeviceTrainBatchSize: 4, loggingSteps: 1, disableTqdm: true, reportTo: 'none' as const, saveStrategy: 'no' as const });

/** Asks for the pooled output and records the shapes it got. */
class PooledProbePlugin implements LossPlugin {
  readonly name = 'pooledProbe';
  readonly weight = 1;
  readonly seen: number[][] = [];
  requires(): OutputRequest {
    return { pooledOutput: true };
  }
  compute(ctx: LossContext): tf.Scalar {
    const [s, t] = [requireOutput(ctx.student, 'pooledOutput'), requireOutput(ctx.teacher, 'pooledOutput')];
    this.seen.push(s.shape, t.shape);
    return tf.mean(tf.square(tf.sub(tf.mean(s, 1), tf.mean(t, 1))));
  }
}

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });
afterEach(() => container.reset());
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('adopting @distillery/plugins', () => {
  it('collects plugins registered on the root container when `container` is omitted, and gives them the pooled outputs', async () => {
    const probe = new PooledProbePlugin();
    container.register(LOSS_PLUGIN, { useValue: probe });
    const [teacher, student] = [await load('teacher'), await load('student')];
    const trainer = new DistillationTrainer({ model: student, teacher, plugins: [new LogitKdPlugin()], args: args('root'), trainDataset: examples });
    expect(trainer.objective.plugins.map((p) => p.name).sort()).toEqual(['kd', 'pooledProbe']);
    await trainer.train();
    const hidden = (m: BertForSequenceClassification) => m.config.hiddenSize;
    expect(probe.seen.slice(0, 2)).toEqual([[4, hidden(student)], [4, hidden(teacher)]]);
    expect(trainer.state.logHistory.some((e) => Number.isFinite(e['loss/pooledProbe']))).toBe(true);
    for (const m of [teacher, student]) m.dispose();
  });

  it('frees every per-term tensor when computeLoss is borrowed outside the trainer loop', async () => {
    class Borrowed extends DistillationTrainer {
      lossOf(inputs: DistillInputs): tf.Scalar {
        return this.computeLoss(this.model, inputs, { returnOutputs: false, numItemsInBatch: 4, training: true }) as tf.Scalar;
      }
    }
    const [teacher, student] = [await load('teacher'), await load('student')];
    const trainer = new Borrowed({ model: student, teacher, plugins: [new LogitKdPlugin(), new HiddenStatePlugin()], args: args('borrowed') });
    const optimizer = tf.train.sgd(1e-3);
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      const inputs = trainer.dataCollator.collate(examples.slice(0, 4));
      tf.tidy(() => {
        optimizer.minimize(() => trainer.lossOf(inputs), false, [...trainer.trainableVariables().values()]);
      });
      tf.dispose(inputs as unknown as tf.TensorContainer);
      counts.push(tf.memory().numTensors);
    }
    // Each step used to leave one kept tensor per term (kd, kd/soft, kd/hard, hidden) behind.
    expect(counts.slice(1)).toEqual([counts[1], counts[1], counts[1]]);
    optimizer.dispose();
    for (const m of [teacher, student]) m.dispose();
  });

  it('requireOutput types an optional output as present, or names the output, the plugin and the fix', () => {
    const logits = tf.zeros([1, 2]);
    const hidden = [tf.zeros([1, 2, 4]) as tf.Tensor3D];
    expect(requireOutput({ logits, hiddenStates: hidden }, 'hiddenStates')).toBe(hidden);
    const missing = () => requireOutput({ logits }, 'pooledOutput', { model: 'student', plugin: 'mine' });
    expect(missing).toThrow(DistilleryPluginsError);
    expect(missing).toThrow(/plugin "mine": the student returned no pooledOutput; list pooledOutput in the plugin's requires\(\), and only models with a pooler produce it/);
    tf.dispose([logits, ...hidden]);
  });
});
