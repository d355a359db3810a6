import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '@distillery/models';
import { EarlyStoppingCallback, Trainer, type TrainerCallback, type TrainingArgumentsInit } from '@distillery/trainer';
import { TinyClassifier } from './helpers/tiny-classifier.js';
import { majorityTask, maxAbsDiff } from './helpers/data.js';
import { quietArgs, tempDir } from './helpers/setup.js';

// 40 examples / batch 8 = 5 batches; GA 2 → 3 updates per epoch (the last one a single batch); 3 epochs = 9 steps.
const data = majorityTask(40, 11);
const resumeArgs = (outputDir: string): TrainingArgumentsInit =>
  quietArgs({ outputDir, numTrainEpochs: 3, perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 2, weightDecay: 0.01, warmupSteps: 2, saveStrategy: 'steps', saveSteps: 2, loggingSteps: 1 });
const stopAt = (step: number): TrainerCallback => ({ onStepEnd: (_a, s, c) => void (s.globalStep === step && (c.shouldTrainingStop = true)) });

async function uninterrupted() {
  const model = new TinyClassifier({ dropout: 0.2 }, 1);
  const trainer = new Trainer({ model, args: resumeArgs(tempDir()), trainDataset: data });
  await trainer.train();
  return { weights: model.snapshot(), losses: trainer.state.logHistory.filter((l) => 'grad_norm' in l).map((l) => l.loss) };
}

describe('resume', () => {
  it('a run stopped after step k and resumed ends bit-identical to an uninterrupted one (mid-epoch and at an epoch boundary)', async () => {
    const reference = await uninterrupted();
    for (const k of [4, 6]) {
      const dir = tempDir();
      const first = new TinyClassifier({ dropout: 0.2 }, 1);
      await new Trainer({ model: first, args: resumeArgs(dir), trainDataset: data, callbacks: [stopAt(k)] }).train();
      first.dispose();
      // A differently initialised model: everything must come from the checkpoint.
      const model = new TinyClassifier({ dropout: 0.2 }, 99);
      const trainer = new Trainer({ model, args: resumeArgs(dir), trainDataset: data });
      await trainer.train({ resumeFromCheckpoint: k === 4 ? true : join(dir, `checkpoint-${k}`) });
      expect(trainer.state.globalStep).toBe(9);
      expect(maxAbsDiff(model.snapshot(), reference.weights)).toBe(0);
      // The resumed steps saw the same batches and dropout masks: same per-step losses.
      expect(trainer.state.logHistory.filter((l) => 'grad_norm' in l).map((l) => l.loss)).toEqual(reference.losses);
      model.dispose();
    }
  });

  it('validates checkpoints: missing or truncated files → CHECKPOINT_INVALID, nothing to resume → CHECKPOINT_MISSING', async () => {
    const dir = tempDir();
    const model = new TinyClassifier({}, 1);
    await new Trainer({ model, args: resumeArgs(dir), trainDataset: data, callbacks: [stopAt(2)] }).train();
    const ckpt = join(dir, 'checkpoint-2');
    expect(readdirSync(ckpt).sort()).toEqual(['config.json', 'model.safetensors', 'optimizer.bin', 'optimizer.json', 'rng_state.json', 'scheduler.json', 'trainer_state.json', 'trainer_variables.bin', 'trainer_variables.json', 'training_args.json']);
    const resume = (m = model) => new Trainer({ model: m, args: resumeArgs(dir), trainDataset: data }).train({ resumeFromCheckpoint: ckpt });
    truncateSync(join(ckpt, 'optimizer.bin'), 10);
    await expect(resume()).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining('optimizer.bin') });
    rmSync(join(ckpt, 'scheduler.json'));
    await expect(resume()).rejects.toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining('scheduler.json') });
    await expect(new Trainer({ model, args: resumeArgs(tempDir()), trainDataset: data }).train({ resumeFromCheckpoint: true })).rejects.toMatchObject({ code: 'CHECKPOINT_MISSING' });
    model.dispose();
  });

  it('refuses optimizer state that is non-finite, of another dtype or shape, before touching the model', async () => {
    const dir = tempDir();
    const first = new TinyClassifier({}, 1);
    await new Trainer({ model: first, args: resumeArgs(dir), trainDataset: data, callbacks: [stopAt(2)] }).train();
    first.dispose();
    const ckpt = join(dir, 'checkpoint-2');
    const manifest = join(ckpt, 'optimizer.json');
    const bin = join(ckpt, 'optimizer.bin');
    const good = { manifest: readFileSync(manifest, 'utf8'), bin: readFileSync(bin) };
    const spec = (edit: (s: { name: string; shape: number[]; dtype: string }) => void): void => {
      const m = JSON.parse(good.manifest) as { weightSpecs: Array<{ name: string; shape: number[]; dtype: string }> };
      edit(m.weightSpecs.find((s) => s.shape.length === 2)!);
      writeFileSync(manifest, JSON.stringify(m));
    };
    const cases: Array<[string, () => void, RegExp]> = [
      ['NaN moments', () => writeFileSync(bin, Buffer.alloc(good.bin.length, 0xff)), /moment tensor\(s\) hold NaN or Inf/],
      ['int32 moments', () => spec((s) => void (s.dtype = 'int32')), /exp_avg(_sq)?\.\S+ is int32, not float32/],
      ['flattened moments', () => spec((s) => void (s.shape = [s.shape[0]! * s.shape[1]!])), /is shaped \[\d+\] but the parameter is \[\d+, \d+\]/],
      ['unknown parameter', () => spec((s) => void (s.name = s.name.replace(/\.[^.]+$/, '.renamed'))), /lacks the moments|no trainable parameter|is missing/],
    ];
    for (const [what, corrupt, message] of cases) {
      writeFileSync(manifest, good.manifest);
      writeFileSync(bin, good.bin);
      corrupt();
      const model = new TinyClassifier({}, 99);
      const before = model.snapshot();
      const err = await new Trainer({ model, args: resumeArgs(dir), trainDataset: data }).train({ resumeFromCheckpoint: ckpt }).catch((e: unknown) => e);
      expect(err, what).toMatchObject({ code: 'CHECKPOINT_INVALID', message: expect.stringContaining(`${ckpt}/optimizer.bin: `) });
      expect((err as Error).message, what).toMatch(message);
      expect(maxAbsDiff(model.snapshot(), before), what).toBe(0);
      model.dispose();
    }
  });

  it('keeps the best checkpoint through saveTotalLimit rotation and loads it at the end', async () => {
    const dir = tempDir();
    const scores = [0.5, 0.9, 0.3, 0.2];
    let evals = 0;
    const model = new TinyClassifier({}, 2);
    const trainer = new Trainer({
      model,
      args: quietArgs({ outputDir: dir, maxSteps: 8, perDeviceTrainBatchSize: 8, evalStrategy: 'steps', evalSteps: 2, saveStrategy: 'steps', saveSteps: 2, saveTotalLimit: 1, loadBestModelAtEnd: true, metricForBestModel: 'score', reportTo: ['jsonl'] }),
      trainDataset: data,
      evalDataset: majorityTask(8, 3),
      computeMetrics: () => ({ score: scores[evals++]! }),
    });
    await trainer.train();
    expect(readdirSync(dir).filter((n) => n.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-4', 'checkpoint-8']);
    expect(trainer.state.bestModelCheckpoint).toBe(join(dir, 'checkpoint-4'));
    expect(trainer.state.bestMetric).toBe(0.9);
    const best = readSafetensors(join(dir, 'checkpoint-4', 'model.safetensors'));
    for (const [name, w] of model.snapshot()) expect(Array.from(w)).toEqual(Array.from(best.tensors.get(name)!.data));
    expect(maxAbsDiff(model.snapshot(), new Map([...readSafetensors(join(dir, 'checkpoint-8', 'model.safetensors')).tensors].map(([k, t]) => [k, t.data])))).toBeGreaterThan(0);
    // JsonlLoggerCallback: one line per log entry
    const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBe(trainer.state.logHistory.length);
    expect(lines.filter((l) => 'eval_score' in l).map((l) => l.eval_score)).toEqual(scores);
    model.dispose();
  });

  it('EarlyStoppingCallback stops after `patience` evaluations without improvement', async () => {
    const scores = [1.0, 0.8, 0.7, 0.9, 0.95, 0.6];
    let evals = 0;
    const model = new TinyClassifier({}, 2);
    const trainer = new Trainer({
      model,
      args: quietArgs({ maxSteps: 30, perDeviceTrainBatchSize: 8, evalStrategy: 'steps', evalSteps: 2, metricForBestModel: 'loss_like', greaterIsBetter: false }),
      trainDataset: data,
      evalDataset: majorityTask(8, 3),
      computeMetrics: () => ({ loss_like: scores[evals++] ?? 0 }),
      callbacks: [new EarlyStoppingCallback({ patience: 2, threshold: 0.05 })],
    });
    await trainer.train();
    // best 0.7 at eval 3; eval 4 (0.9) and 5 (0.95) do not improve → stop at eval 5 = step 10
    expect(trainer.state.globalStep).toBe(10);
    expect(trainer.state.bestMetric).toBe(0.7);
    model.dispose();
  });

  it('EarlyStoppingCallback keeps its patience count through a resume and stops at the same step', async () => {
    // best 0.7 at step 6; step 8 (0.9) is miss 1, step 10 (0.95) miss 2 → stop at 10; step 12 (0.6) would reset it.
    const scores = [1.0, 0.8, 0.7, 0.9, 0.95, 0.6];
    const run = async (outputDir: string, extra: TrainerCallback[], resumeFromCheckpoint?: string) => {
      let evals = resumeFromCheckpoint === undefined ? 0 : 4;
      const model = new TinyClassifier({}, 2);
      const trainer = new Trainer({
        model,
        args: quietArgs({ outputDir, maxSteps: 30, perDeviceTrainBatchSize: 8, evalStrategy: 'steps', evalSteps: 2, saveStrategy: 'steps', saveSteps: 2, metricForBestModel: 'loss_like', greaterIsBetter: false }),
        trainDataset: data,
        evalDataset: majorityTask(8, 3),
        computeMetrics: () => ({ loss_like: scores[evals++] ?? 0 }),
        callbacks: [new EarlyStoppingCallback({ patience: 2, threshold: 0.05 }), ...extra],
      });
      await trainer.train(resumeFromCheckpoint === undefined ? {} : { resumeFromCheckpoint });
      model.dispose();
      return trainer.state.globalStep;
    };
    const reference = await run(tempDir(), []);
    expect(reference).toBe(10);
    const dir = tempDir();
    expect(await run(dir, [stopAt(8)])).toBe(8);
    const ckpt = join(dir, 'checkpoint-8');
    expect((JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')) as { statefulCallbacks: unknown }).statefulCallbacks).toEqual({ EarlyStoppingCallback: { misses: 1 } });
    expect(await run(dir, [], ckpt)).toBe(reference);
  });

  it('cleans what a killed writer left and never lists an incomplete folder', async () => {
    const dir = tempDir();
    const model = new TinyClassifier({}, 1);
    await new Trainer({ model, args: resumeArgs(dir), trainDataset: data, callbacks: [stopAt(2)] }).train();
    writeFileSync(join(dir, 'stray.txt'), 'x');
    const half = join(dir, '.tmp-checkpoint-4-12345');
    mkdirSync(half);
    const trainer = new Trainer({ model, args: resumeArgs(dir), trainDataset: data });
    await trainer.train({ resumeFromCheckpoint: true });
    expect(existsSync(half)).toBe(false);
    expect(existsSync(join(dir, 'stray.txt'))).toBe(true);
    expect(trainer.state.globalStep).toBe(9);
    model.dispose();
  });
});
