import { describe, expect, it } from 'vitest';
import { DistilleryTrainerError, TrainingArguments, type TrainingArgumentsInit } from '@distillery/trainer';

function failure(init: Record<string, unknown>): DistilleryTrainerError {
  try {
    new TrainingArguments({ outputDir: 'out', ...init } as TrainingArgumentsInit);
  } catch (e) {
    return e as DistilleryTrainerError;
  }
  throw new Error(`expected ${JSON.stringify(init)} to be rejected`);
}

describe('TrainingArguments', () => {
  it('uses Hugging Face defaults', () => {
    const a = new TrainingArguments({ outputDir: 'out' });
    expect(a).toMatchObject({ learningRate: 5e-5, weightDecay: 0, adamBeta1: 0.9, adamBeta2: 0.999, adamEpsilon: 1e-8, maxGradNorm: 1, numTrainEpochs: 3, maxSteps: -1, perDeviceTrainBatchSize: 8, lrSchedulerType: 'linear', warmupSteps: 0, loggingSteps: 500, saveSteps: 500, evalStrategy: 'no', saveStrategy: 'steps', seed: 42, gradientAccumulationSteps: 1 });
    expect(a.evalSteps).toBe(500);
    expect(new TrainingArguments({ outputDir: 'o', metricForBestModel: 'eval_loss' }).greaterIsBetter).toBe(false);
    expect(new TrainingArguments({ outputDir: 'o', metricForBestModel: 'accuracy' }).greaterIsBetter).toBe(true);
    expect(JSON.parse(JSON.stringify(a.toJSON())).learningRate).toBe(5e-5);
  });

  it.each([
    [{ learningRate: -1 }, 'learningRate'],
    [{ perDeviceTrainBatchSize: 0 }, 'perDeviceTrainBatchSize'],
    [{ gradientAccumulationSteps: 1.5 }, 'gradientAccumulationSteps'],
    [{ maxSteps: 0 }, 'maxSteps'],
    [{ adamBeta2: 1 }, 'adamBeta2'],
    [{ warmupRatio: 2 }, 'warmupRatio'],
    [{ lrSchedulerType: 'exp' }, 'lrSchedulerType'],
    [{ saveTotalLimit: 0 }, 'saveTotalLimit'],
    [{ lerningRate: 1e-3 }, 'lerningRate'],
    [{ loadBestModelAtEnd: true, evalStrategy: 'steps' }, 'metricForBestModel'],
    [{ loadBestModelAtEnd: true, metricForBestModel: 'loss' }, 'evalStrategy'],
    [{ loadBestModelAtEnd: true, metricForBestModel: 'loss', evalStrategy: 'steps', evalSteps: 3, saveSteps: 4 }, 'saveSteps'],
    [{ outputDir: '' }, 'outputDir'],
  ])('rejects %j naming %s', (init, field) => {
    const e = failure(init);
    expect(e).toBeInstanceOf(DistilleryTrainerError);
    expect(e.code).toBe('ARGS_INVALID');
    expect(e.message).toContain(`TrainingArguments.${field}`);
  });
});
