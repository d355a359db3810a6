/**
 * examples/browser: the bundled page distils a tiny pair in headless Chromium, once on WebGPU
 * (--enable-unsafe-webgpu: SwiftShader here) and once without the flag (wasm); the loss falls in
 * both, and a screenshot of each finished page is written to the output folder
 * ($DISTILLERY_TEST_OUT or <tmp>/distillery-browser-test, kept after the test). The run checkpoints
 * into the Origin Private File System, and the student saved there with savePretrained loads back
 * (fromPretrained from OPFS) with bit-identical logits.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { initBackend } from '@distillery/trainer';
import { findChromium } from '../../examples/demo/screenshot.js';
import { runBrowserDistillation } from '../../examples/browser/drive.js';

const chromium = findChromium();
const OUT = process.env.DISTILLERY_TEST_OUT ?? join(tmpdir(), 'distillery-browser-test');
let teacherDir = '';

describe.skipIf(!chromium)(chromium ? 'examples/browser in headless Chromium' : 'examples/browser — SKIPPED: no Chromium at $CHROMIUM_PATH or /usr/bin/chromium (apt-get install -y chromium)', () => {
  beforeAll(async () => {
    // A tiny random teacher folder, as savePretrained writes it: the page loads it over HTTP.
    await initBackend({ backend: 'cpu', log: false });
    teacherDir = mkdtempSync(join(tmpdir(), 'browser-teacher-'));
    const teacher = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 99, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32 }), 4);
    // A freshly initialised head gives near-uniform logits, whose KD loss starts near 0 and can only
    // "fall" by noise: a 200× larger classifier makes the teacher confident, so the student has
    // something to learn and the falling loss means it learnt it.
    const classifier = teacher.namedParameters().get('classifier.weight')!;
    classifier.assign(classifier.mul(200));
    await teacher.savePretrained(teacherDir);
    teacher.dispose();
    mkdirSync(OUT, { recursive: true });
  });
  afterAll(() => rmSync(teacherDir, { recursive: true, force: true }));

  it.each([
    ['webgpu', true, 8],
    ['wasm', false, 12],
  ] as const)('trains on %s; the loss falls; checkpoint and student saved to OPFS, reloaded identically; screenshot written', async (backend, webgpu, steps) => {
    const r = await runBrowserDistillation({ executablePath: chromium!, teacherDir, webgpu, steps, outDir: join(OUT, backend) });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('done');
    expect(r.backend).toBe(backend);
    if (webgpu) expect(r.adapter).toBeTruthy(); // SwiftShader here, the GPU on a machine with one
    expect(r.losses.map((l) => l.step)).toEqual(Array.from({ length: steps / 2 }, (_, i) => 2 * (i + 1)));
    expect(r.losses[0]!.loss).toBeGreaterThan(0.01);
    expect(r.losses.at(-1)!.loss).toBeLessThan(0.8 * r.losses[0]!.loss);
    expect(r.saved).toEqual({
      // metrics.jsonl: reportTo ['jsonl'] appends one line per log (every 2 steps) and the run's summary, through OPFS.
      runFiles: [`checkpoint-${steps}`, 'metrics.jsonl', 'student'],
      metricsLines: steps / 2 + 1,
      checkpoint: `distillery/browser-run/checkpoint-${steps}`,
      checkpointFiles: ['config.json', 'model.safetensors', 'optimizer.bin', 'optimizer.json', 'rng_state.json', 'scheduler.json', 'trainer_state.json', 'trainer_variables.bin', 'trainer_variables.json', 'training_args.json'],
      studentFiles: ['config.json', 'model.safetensors'],
    });
    expect(r.reload).toEqual({ identical: true, maxAbsDiff: 0, values: 4 });
    expect(readFileSync(r.screenshot).subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(r.screenshot).toBe(join(OUT, backend, `browser-${backend}.png`));
  });
});
