import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DistilleryTrainerError, Trainer, accuracy, argmaxPredictions, type CallbackHook, type ComputeLossOptions, type ComputeLossResult, type HookName, type ModelInputs, type TrainableModel, type TrainerCallback, HOOK_NAMES } from '@distillery/trainer';
import { TinyClassifier, type TinyOutput } from './helpers/tiny-classifier.js';
import { majorityTask, maxAbsDiff } from './helpers/data.js';
import { quietArgs, tempDir } from './helpers/setup.js';

const metrics = (p: Parameters<typeof argmaxPredictions>[0]) => {
  const { predicted, labels } = argmaxPredictions(p);
  return { accuracy: accuracy(predicted, labels) };
};

describe('Trainer.train', () => {
  it('loss falls and the model learns the task', async () => {
    const model = new TinyClassifier({}, 1);
    const trainer = new Trainer({ model, args: quietArgs({ numTrainEpochs: 3, perDeviceTrainBatchSize: 16, loggingSteps: 8 }), trainDataset: majorityTask(512, 1), evalDataset: majorityTask(128, 2), computeMetrics: metrics });
    const before = await trainer.evaluate();
    await trainer.train();
    const after = await trainer.evaluate();
    const losses = trainer.state.logHistory.filter((l) => 'loss' in l && 'grad_norm' in l).map((l) => l.loss!);
    expect(trainer.state.globalStep).toBe(96);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    expect(after.eval_loss!).toBeLessThan(before.eval_loss! * 0.6);
    expect(after.eval_accuracy!).toBeGreaterThan(0.9);
    model.dispose();
  });

  it('keeps tf.memory().numTensors flat: step 10 == step 100 (with logging, eval and saving in between)', async () => {
    const model = new TinyClassifier({ dropout: 0.1 }, 2);
    const seen = new Map<number, number>();
    const probe: TrainerCallback = { onStepEnd: (_a, state) => void seen.set(state.globalStep, tf.memory().numTensors) };
    const trainer = new Trainer({
      model,
      args: quietArgs({ maxSteps: 100, perDeviceTrainBatchSize: 8, gradientAccumulationSteps: 2, loggingSteps: 7, evalStrategy: 'steps', evalSteps: 30, saveStrategy: 'steps', saveSteps: 40 }),
      trainDataset: majorityTask(96, 3),
      evalDataset: majorityTask(20, 4),
      computeMetrics: metrics,
      callbacks: [probe],
    });
    await trainer.train();
    expect(seen.get(10)).toBeGreaterThan(0);
    expect(seen.get(100)).toBe(seen.get(10));
    expect(seen.get(55)).toBe(seen.get(10));
    model.dispose();
  });

  it('gradient accumulation 4 × batch 8 gives the same weights as batch 32 (incl. a short last window)', async () => {
    const data = majorityTask(120, 5); // batches of 32: 32,32,32,24 — windows of 4×8: 32,32,32,24
    const run = async (batch: number, ga: number) => {
      const model = new TinyClassifier({}, 3);
      const trainer = new Trainer({ model, args: quietArgs({ numTrainEpochs: 2, perDeviceTrainBatchSize: batch, gradientAccumulationSteps: ga, weightDecay: 0.01, loggingSteps: 1 }), trainDataset: data });
      await trainer.train();
      const losses = trainer.state.logHistory.filter((l) => 'grad_norm' in l).map((l) => l.loss!);
      const w = model.snapshot();
      model.dispose();
      return { w, losses, steps: trainer.state.globalStep };
    };
    const big = await run(32, 1);
    const acc = await run(8, 4);
    expect(acc.steps).toBe(8);
    expect(big.steps).toBe(8);
    for (let i = 0; i < 8; i++) expect(acc.losses[i]).toBeCloseTo(big.losses[i]!, 5);
    expect(maxAbsDiff(acc.w, big.w)).toBeLessThan(1e-5);
    // and accumulation did change the weights (the comparison is not vacuous)
    expect(maxAbsDiff(acc.w, new TinyClassifier({}, 3).snapshot())).toBeGreaterThan(1e-2);
  });

  it('optimises exactly the trainable variables it owns: a frozen teacher is untouched, a registered variable is trained', async () => {
    class ScaleDistiller extends Trainer<any, ModelInputs, TinyOutput> {
      readonly scale = tf.variable(tf.ones([1]), true);
      constructor(readonly teacher: TinyClassifier, opts: ConstructorParameters<typeof Trainer<any, ModelInputs, TinyOutput>>[0]) {
        super(opts);
        this.registerTrainableVariables({ 'projector.scale': this.scale });
      }
      protected override computeLoss(model: TrainableModel<ModelInputs, TinyOutput>, inputs: ModelInputs, o: ComputeLossOptions): ComputeLossResult<TinyOutput> {
        const { labels: _, ...x } = inputs;
        const student = model.forward(x, { training: o.training });
        const target = this.teacher.forward(x, { training: false }).logits;
        // Different objective than the model's own loss: match the teacher's logits, not the labels.
        const loss = tf.losses.meanSquaredError(target, tf.mul(student.logits, this.scale)) as tf.Scalar;
        return o.returnOutputs ? { loss, outputs: student } : loss;
      }
    }
    const teacher = new TinyClassifier({}, 7);
    const student = new TinyClassifier({}, 8);
    const teacherBefore = teacher.snapshot();
    const trainer = new ScaleDistiller(teacher, { model: student, args: quietArgs({ numTrainEpochs: 4, perDeviceTrainBatchSize: 16 }), trainDataset: majorityTask(128, 6), evalDataset: majorityTask(64, 9) });
    const owned = new Set(trainer.trainableVariables().values());
    for (const v of teacher.namedParameters().values()) expect(owned.has(v)).toBe(false);
    expect(owned.has(trainer.scale)).toBe(true);
    const before = (await trainer.evaluate()).eval_loss!;
    await trainer.train();
    const after = (await trainer.evaluate()).eval_loss!;
    expect(after).toBeLessThan(before * 0.3);
    expect(maxAbsDiff(teacher.snapshot(), teacherBefore)).toBe(0);
    expect(Math.abs(trainer.scale.dataSync()[0]! - 1)).toBeGreaterThan(1e-3);
    teacher.dispose();
    student.dispose();
  });

  it('computeLossFunc replaces the loss without subclassing', async () => {
    const model = new TinyClassifier({}, 4);
    // Push logit 0 towards +3 regardless of labels.
    const trainer = new Trainer({ model, args: quietArgs({ numTrainEpochs: 5, perDeviceTrainBatchSize: 16, learningRate: 5e-2 }), trainDataset: majorityTask(64, 7), computeLossFunc: (out: TinyOutput) => tf.mean(tf.square(tf.sub(out.logits.slice([0, 0], [-1, 1]), 3))) as tf.Scalar });
    await trainer.train();
    const { predictions } = await trainer.predict(majorityTask(32, 8));
    const mean0 = (predictions as number[][]).reduce((a, r) => a + r[0]!, 0) / predictions.length;
    expect(mean0).toBeGreaterThan(2);
    model.dispose();
  });

  it('throws a clear MODEL_INVALID when the model returns no loss', async () => {
    const model = new TinyClassifier({}, 4);
    const unlabelled = majorityTask(16, 1).map(({ inputIds }) => ({ inputIds }));
    const trainer = new Trainer({ model, args: quietArgs({ maxSteps: 1 }), trainDataset: unlabelled });
    await expect(trainer.train()).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(/no loss/) });
    model.dispose();
  });
});

describe('NaN/Inf guard', () => {
  class PoisonedAt extends Trainer<any, ModelInputs, TinyOutput> {
    /** Steps badStep..lastBad (1-based) get a non-finite loss or gradient. */
    constructor(readonly badStep: number, readonly kind: 'loss' | 'grad', opts: ConstructorParameters<typeof Trainer<any, ModelInputs, TinyOutput>>[0], readonly lastBad = badStep) {
      super(opts);
    }
    protected override computeLoss(model: TrainableModel<ModelInputs, TinyOutput>, inputs: ModelInputs, o: ComputeLossOptions): ComputeLossResult<TinyOutput> {
      const loss = super.computeLoss(model, inputs, { ...o, returnOutputs: false }) as tf.Scalar;
      const step = this.state.globalStep + 1;
      if (!o.training || step < this.badStep || step > this.lastBad) return loss;
      // loss: NaN value; grad: finite value 0 but d sqrt(x)/dx at 0 = Inf → NaN gradients.
      return (this.kind === 'loss' ? tf.mul(loss, NaN) : tf.add(loss, tf.sqrt(tf.mul(loss, 0)))) as tf.Scalar;
    }
  }

  it('skip: a non-finite loss leaves the weights unchanged at that step and training goes on', async () => {
    const model = new TinyClassifier({}, 5);
    const snaps = new Map<number, Map<string, Float32Array>>();
    const trainer = new PoisonedAt(3, 'loss', { model, args: quietArgs({ maxSteps: 5, perDeviceTrainBatchSize: 8 }), trainDataset: majorityTask(64, 2), callbacks: [{ onStepEnd: (_a, s) => void snaps.set(s.globalStep, model.snapshot()) }] });
    await trainer.train();
    expect(trainer.state.skippedSteps).toEqual([3]);
    expect(maxAbsDiff(snaps.get(3)!, snaps.get(2)!)).toBe(0);
    expect(maxAbsDiff(snaps.get(4)!, snaps.get(3)!)).toBeGreaterThan(0);
    for (const w of snaps.get(5)!.values()) expect(w.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('skip fails the run (NO_PROGRESS) when a whole logging window, or the run\'s end, was skipped; the last good checkpoint stays', async () => {
    for (const [lastBad, maxSteps, steps] of [[8, 12, 'from 5 to 8'], [6, 6, 'from 5 to 6']] as const) {
      const model = new TinyClassifier({}, 5);
      const outputDir = tempDir();
      const trainer = new PoisonedAt(5, 'grad', { model, args: quietArgs({ outputDir, maxSteps, loggingSteps: 4, saveStrategy: 'steps', saveSteps: 4 }), trainDataset: majorityTask(64, 2) }, lastBad);
      const err = await trainer.train().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DistilleryTrainerError);
      expect(err).toMatchObject({ code: 'NO_PROGRESS', message: expect.stringContaining(`every optimizer step ${steps} had a non-finite loss or gradient`) });
      expect(trainer.state.skippedSteps).toEqual(Array.from({ length: lastBad - 4 }, (_, i) => 5 + i));
      expect(readdirSync(outputDir).filter((f) => f.startsWith('checkpoint-'))).toEqual(['checkpoint-4']);
      model.dispose();
    }
  });

  it('NaN weights are never written as a checkpoint (NON_FINITE_WEIGHTS)', async () => {
    const model = new TinyClassifier({}, 5);
    const outputDir = tempDir();
    // Something outside the loss (a buggy callback, a custom optimizer) corrupts a weight after step 3's update.
    const poison: TrainerCallback = { onStepEnd: (_a, s) => void (s.globalStep === 3 && [...model.namedParameters().values()][0]!.assign(tf.fill([...[...model.namedParameters().values()][0]!.shape], NaN))) };
    const trainer = new Trainer({ model, args: quietArgs({ outputDir, maxSteps: 4, saveStrategy: 'steps', saveSteps: 1 }), trainDataset: majorityTask(64, 2), callbacks: [poison] });
    await expect(trainer.train()).rejects.toMatchObject({ code: 'NON_FINITE_WEIGHTS', message: expect.stringMatching(/^step 3: 1 weight tensor\(s\) hold NaN or Inf .*checkpoint-3 not written/) });
    expect(readdirSync(outputDir).filter((f) => f.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-1', 'checkpoint-2']);
    model.dispose();
  });

  it('abort: non-finite loss / gradient throws NON_FINITE_* naming the step', async () => {
    for (const [kind, code] of [['loss', 'NON_FINITE_LOSS'], ['grad', 'NON_FINITE_GRADIENT']] as const) {
      const model = new TinyClassifier({}, 5);
      const errors: unknown[] = [];
      const trainer = new PoisonedAt(2, kind, { model, args: quietArgs({ maxSteps: 5, nanPolicy: 'abort' }), trainDataset: majorityTask(64, 2), callbacks: [{ onException: (_a, _s, _c, ctx) => void errors.push(ctx.error) }] });
      const err = await trainer.train().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DistilleryTrainerError);
      expect(err).toMatchObject({ code, message: expect.stringContaining('step 2') });
      expect(errors).toEqual([err]);
      model.dispose();
    }
  });
});

describe('callbacks', () => {
  function recorder(into: string[]): TrainerCallback {
    const cb: TrainerCallback = {};
    for (const hook of HOOK_NAMES) (cb as Record<HookName, CallbackHook>)[hook] = (_a, state) => void into.push(`${hook}@${state.globalStep}`);
    return cb;
  }

  it('sees every event in HF order, mirrored on trainer.events', async () => {
    const seen: string[] = [];
    const emitted: string[] = [];
    const model = new TinyClassifier({}, 6);
    const trainer = new Trainer({
      model,
      args: quietArgs({ maxSteps: 2, perDeviceTrainBatchSize: 4, gradientAccumulationSteps: 2, loggingSteps: 1, evalStrategy: 'steps', evalSteps: 2, saveStrategy: 'steps', saveSteps: 2 }),
      trainDataset: majorityTask(64, 3),
      evalDataset: majorityTask(8, 4),
      callbacks: [recorder(seen)],
    });
    for (const hook of HOOK_NAMES) {
      const name = (hook.charAt(2).toLowerCase() + hook.slice(3)) as 'log';
      trainer.events.on(name, ({ state }) => void emitted.push(`${hook}@${state.globalStep}`));
    }
    await trainer.train();
    const step = (n: number) => [`onStepBegin@${n - 1}`, `onBeforeBackward@${n - 1}`, `onSubstepEnd@${n - 1}`, `onBeforeBackward@${n - 1}`, `onBeforeOptimizerStep@${n - 1}`, `onOptimizerStep@${n - 1}`, `onStepEnd@${n}`, `onLog@${n}`];
    expect(seen).toEqual(['onInitEnd@0', 'onTrainBegin@0', 'onEpochBegin@0', ...step(1), ...step(2), 'onLog@2', 'onEvaluate@2', 'onSave@2', 'onEpochEnd@2', 'onLog@2', 'onTrainEnd@2']);
    expect(emitted).toEqual(seen);
    model.dispose();
  });

  it('can stop training and force an evaluation and a save', async () => {
    const model = new TinyClassifier({}, 6);
    const control: TrainerCallback = {
      onStepEnd: (_a, state, c) => {
        if (state.globalStep === 2) c.shouldEvaluate = c.shouldSave = true;
        if (state.globalStep === 3) c.shouldTrainingStop = true;
      },
    };
    const args = quietArgs({ maxSteps: 50, perDeviceTrainBatchSize: 4 });
    const trainer = new Trainer({ model, args, trainDataset: majorityTask(64, 3), evalDataset: majorityTask(8, 4), callbacks: [control] });
    await trainer.train();
    expect(trainer.state.globalStep).toBe(3);
    expect(trainer.state.logHistory.filter((l) => 'eval_loss' in l).map((l) => l.step)).toEqual([2]);
    expect(existsSync(join(args.outputDir, 'checkpoint-2', 'trainer_state.json'))).toBe(true);
    expect(existsSync(join(args.outputDir, 'checkpoint-3'))).toBe(false);
    model.dispose();
  });

  it('rejects an evalStrategy without evalDataset, and an iterable trainDataset without maxSteps', async () => {
    const model = new TinyClassifier({}, 6);
    expect(() => new Trainer({ model, args: quietArgs({ evalStrategy: 'epoch' }), trainDataset: majorityTask(8, 1) })).toThrow(/evalStrategy is "epoch" but no evalDataset/);
    async function* stream() {
      yield* majorityTask(8, 1);
    }
    const trainer = new Trainer({ model, args: quietArgs(), trainDataset: { [Symbol.asyncIterator]: stream } });
    await expect(trainer.train()).rejects.toMatchObject({ code: 'ARGS_INVALID', message: expect.stringMatching(/maxSteps is required/) });
    model.dispose();
  });

  it('trains from an async iterable dataset with maxSteps', async () => {
    const model = new TinyClassifier({}, 6);
    const data = majorityTask(40, 1);
    const trainer = new Trainer({ model, args: quietArgs({ maxSteps: 12, perDeviceTrainBatchSize: 8 }), trainDataset: { async *[Symbol.asyncIterator]() { yield* data; } } });
    await trainer.train();
    expect(trainer.state.globalStep).toBe(12);
    expect(trainer.state.epoch).toBe(2); // 5 batches per pass: steps 11-12 are in the third pass (epoch index 2)
    model.dispose();
  });
});
