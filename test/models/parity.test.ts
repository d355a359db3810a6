// Parity with the PyTorch float64 reference fixtures (test/fixtures/parity/SPEC.md), on cpu, wasm and native (when its addon is built).
// Cases are discovered by folder (any folder with config.json + expected.json), and the class is
// picked from config.json, so a holdout set with other names works: DISTILLERY_PARITY_DIR=/path.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { forwardReport, loadConfig, modelClassFor, type AnyModel } from '@distillery/models';
import { loadAddon } from '@distillery/native';
import { initBackend, type BackendName } from '@distillery/trainer';
import { CASES, expectParity, readCase } from './parity-check.js';

it('finds parity cases', () => {
  expect(CASES.length).toBeGreaterThan(0);
});

const BACKENDS: BackendName[] = ['cpu', 'wasm', ...(loadAddon().ok ? (['native'] as const) : [])];

describe.each(BACKENDS)('parity on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ backend, log: false });
  });

  it.each(CASES)('%s', async (name) => {
    expect(tf.getBackend()).toBe(backend);
    const { dir, expected, inputs } = readCase(name);
    const config = loadConfig(dir);
    const model = (await modelClassFor(config).fromPretrained(dir, { log: false })) as AnyModel;
    expect(model.constructor.name).toBe(config.architectures?.[0]);
    const grads = Object.keys(expected.gradients ?? {});
    const before = tf.memory().numTensors;
    const report = await forwardReport(model, inputs, { grads });
    expect(tf.memory().numTensors).toBe(before);

    expectParity(report, expected);
    model.dispose();
  });
});
