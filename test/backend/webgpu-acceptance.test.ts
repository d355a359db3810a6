/**
 * Acceptance for the webgpu backend, on SwiftShader (a CPU Vulkan; CI has no GPU): the parity
 * fixtures and the distill_losses models through `distillery forward` with DISTILLERY_BACKEND=webgpu,
 * and a tiny pair distilled for 20 steps through DistillationTrainer (checkpoint, savePretrained,
 * reload) with flat tensor count and GPU bytes. One process, so the shaders compile once.
 * The distill_losses loss terms on webgpu are checked in test/plugins/distill-parity.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig, type ForwardReport } from '@distillery/models';
import { LogitKdPlugin, HiddenStatePlugin, DistillationTrainer } from '@distillery/plugins';
import { Rng, initBackend, type Example } from '@distillery/trainer';
import { runCli } from '../../packages/cli/src/program.js';
import { expectClose } from '../models/compare.js';
import { CASES, expectParity, readCase } from '../models/parity-check.js';
import { DISTILL_DIR, loadDistillFixture } from '../plugins/helpers.js';
import { SWIFTSHADER_MISSING, useSwiftShader } from '../helpers/swiftshader.js';

const available = useSwiftShader();
let tmp = '';

/** `distillery forward` in this process, on whatever DISTILLERY_BACKEND says; the report it wrote. */
async function cliForward(model: string, inputs: string, grads: string[], name: string): Promise<ForwardReport> {
  const out = join(tmp, `${name}.json`);
  const code = await runCli(['node', 'distillery', 'forward', '--model', model, '--inputs', inputs, ...(grads.length > 0 ? ['--grads', grads.join(',')] : []), '--out', out]);
  expect(code, `distillery forward --model ${model}`).toBe(0);
  expect(tf.getBackend()).toBe('webgpu');
  return JSON.parse(readFileSync(out, 'utf8')) as ForwardReport;
}

describe.skipIf(!available)(available ? 'webgpu on SwiftShader' : `webgpu on SwiftShader — ${SWIFTSHADER_MISSING}`, () => {
  beforeAll(async () => {
    process.env.DISTILLERY_BACKEND = 'webgpu';
    tmp = mkdtempSync(join(tmpdir(), 'webgpu-acceptance-'));
    await initBackend({ log: false });
  });
  afterAll(() => {
    delete process.env.DISTILLERY_BACKEND;
    rmSync(tmp, { recursive: true, force: true });
  });

  it.each(CASES)('distillery forward matches parity fixture %s (outputs and gradients)', async (name) => {
    const { dir, expected } = readCase(name);
    const report = await cliForward(dir, join(dir, 'inputs.json'), Object.keys(expected.gradients ?? {}), name);
    expectParity(report, expected);
  });

  it.each(['teacher', 'student'] as const)('distillery forward matches the distill_losses %s', async (who) => {
    const { expected } = loadDistillFixture();
    const report = await cliForward(join(DISTILL_DIR, who), join(DISTILL_DIR, 'inputs.json'), [], `distill-${who}`);
    const want = expected[who];
    const tol = expected.tolerance as unknown as Record<'logits' | 'hidden_states' | 'attentions', { atol: number; rtol: number }>;
    expectClose(report.logits, want.logits, tol.logits, `${who} logits`);
    want.hidden_states.forEach((h, i) => expectClose(report.hidden_states[i], h, tol.hidden_states, `${who} hidden_states[${i}]`));
    want.attentions.forEach((a, i) => expectClose(report.attentions[i], a, tol.attentions, `${who} attentions[${i}]`));
  });

  it('a tiny pair distils 20 steps: loss falls, tensors and GPU bytes flat, checkpoint and savePretrained reload', async () => {
    // Tiny on purpose: SwiftShader emulates the GPU on the CPU.
    const bert = (hiddenSize: number, numHiddenLayers: number) => BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 99, hiddenSize, numHiddenLayers, numAttentionHeads: 2, intermediateSize: 2 * hiddenSize, maxPositionEmbeddings: 16 }), numHiddenLayers);
    const [teacher, student] = [bert(32, 2), bert(16, 1)];
    const rng = new Rng(5);
    // Over the fixtures' 99-token vocab; label = whether token 7 or 8 occurs.
    const train: Example[] = Array.from({ length: 32 }, () => {
      const ids = [2, ...Array.from({ length: 4 + Math.floor(rng.next() * 8) }, () => 4 + Math.floor(rng.next() * 95)), 3];
      return { inputIds: ids, label: ids.includes(7) || ids.includes(8) ? 1 : 0 };
    });
    const outputDir = join(tmp, 'distil');
    const trainer = new DistillationTrainer({
      model: student, teacher, plugins: [new LogitKdPlugin({ alpha: 0.5 }), new HiddenStatePlugin()], trainDataset: train,
      args: { outputDir, maxSteps: 20, perDeviceTrainBatchSize: 4, learningRate: 3e-3, loggingSteps: 5, saveSteps: 10, disableTqdm: true, reportTo: [], seed: 1 },
    });
    const atStepEnd: Array<{ tensors: number; gpuBytes: number }> = [];
    trainer.addCallback({
      onStepEnd: () => {
        const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
        atStepEnd.push({ tensors: m.numTensors, gpuBytes: m.numBytesInGPU ?? Number.NaN });
      },
    });
    await trainer.train();
    expect(tf.getBackend()).toBe('webgpu');

    expect(atStepEnd).toHaveLength(20);
    // Flat after the first step (which creates the optimizer moments) — and past the checkpoint at step 10.
    expect(new Set(atStepEnd.slice(1).map((m) => m.tensors)).size).toBe(1);
    expect(new Set(atStepEnd.slice(1).map((m) => m.gpuBytes)).size).toBe(1);
    expect(atStepEnd[1]!.gpuBytes).toBeGreaterThan(0);

    const losses = trainer.state.logHistory.filter((e) => 'loss' in e).map((e) => e.loss!);
    expect(losses).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[3]!).toBeLessThan(losses[0]!);
    expect(existsSync(join(outputDir, 'checkpoint-20', 'model.safetensors'))).toBe(true);

    const saved = join(tmp, 'student-saved');
    await student.savePretrained(saved);
    const reloaded = await BertForSequenceClassification.fromPretrained(saved, { log: false });
    for (const [name, v] of student.namedParameters()) {
      expect(Buffer.from((await reloaded.namedParameters().get(name)!.data()).buffer).equals(Buffer.from((await v.data()).buffer)), name).toBe(true);
    }
    for (const m of [teacher, student, reloaded]) m.dispose();
  });
});
