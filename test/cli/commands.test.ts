/**
 * `distillery train | distill | eval` end to end: real processes (tsx) on a toy sentiment task.
 * train fits a random BERT from a YAML config, distill compresses it into a smaller student
 * from a JSON config with flags on top, eval scores the saved student; a bad flag fails cleanly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, BertForSequenceClassification, encodingToTensors } from '@distillery/models';
import { initBackend } from '@distillery/trainer';
import * as tf from '@tensorflow/tfjs';
import { bertConfig, sentimentRows, writeTask } from './fixtures.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'distillery-cli-'));
const task = writeTask(tmp);

function cli(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(join(ROOT, 'node_modules/.bin/tsx'), ['--conditions=distillery-source', join(ROOT, 'packages/cli/src/main.ts'), ...args], { cwd: ROOT });
}

function results(dir: string): Record<string, number> {
  return JSON.parse(readFileSync(join(dir, 'train_results.json'), 'utf8')) as Record<string, number>;
}

/** Accuracy of a saved folder (model + its own tokenizer) on rows, computed here in-process. */
async function folderAccuracy(dir: string, rows: ReturnType<typeof sentimentRows>): Promise<number> {
  const model = await BertForSequenceClassification.fromPretrained(dir, { log: false });
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  const predicted = tf.tidy(() => {
    const inputs = encodingToTensors(tokenizer.encode(rows.map((r) => r.text), { padding: true }));
    return tf.argMax(model.forward(inputs).logits, -1).arraySync() as number[];
  });
  model.dispose();
  return predicted.filter((p, i) => p === rows[i]!.label).length / rows.length;
}

beforeAll(async () => { await initBackend({ log: false }); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('distillery CLI', () => {
  const teacherDir = join(tmp, 'teacher');
  const studentDir = join(tmp, 'student');

  it('train: a YAML config trains a random BERT and writes checkpoints plus a loadable HF folder with its tokenizer', async () => {
    const config = join(tmp, 'train.yaml');
    writeFileSync(config, [
      `model: ${JSON.stringify(bertConfig(32, 2))}`,
      'tokenizer: tok',
      'data:',
      '  train: train.jsonl',
      '  eval: eval.jsonl',
      '  maxLength: 16',
      'training:',
      '  outputDir: teacher',
      '  numTrainEpochs: 6',
      '  perDeviceTrainBatchSize: 16',
      '  learningRate: 0.003',
      '  loggingSteps: 6',
      '  saveSteps: 18',
      '  reportTo: []',
      '',
    ].join('\n'));
    const { stdout } = await cli(['train', '--config', config]);
    expect(stdout).toMatch(/^train: 36 steps, saved /);
    expect(readdirSync(teacherDir).filter((f) => f.startsWith('checkpoint-')).sort()).toEqual(['checkpoint-18', 'checkpoint-36']);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) expect(existsSync(join(teacherDir, f)), f).toBe(true);
    const metrics = results(teacherDir);
    expect(metrics.eval_accuracy).toBeGreaterThanOrEqual(0.9);
    expect(await folderAccuracy(teacherDir, sentimentRows(48, 2))).toBe(metrics.eval_accuracy);
  });

  it('distill: plugins with weights and schedules from a JSON config, flags overriding it, student saved', async () => {
    const config = join(tmp, 'distill.json');
    writeFileSync(config, JSON.stringify({
      teacher: 'no-such-teacher', // replaced by --teacher
      student: bertConfig(16, 1),
      tokenizer: 'tok',
      data: { train: 'train.jsonl', eval: 'eval.jsonl', maxLength: 16 },
      plugins: [
        { type: 'logitKd', temperature: 1, alpha: 0.5 },
        { type: 'hiddenState', weight: 0.05 },
        { type: 'attention', weight: { kind: 'linear', from: 1, to: 0 } },
      ],
      training: { outputDir: 'student', numTrainEpochs: 2, perDeviceTrainBatchSize: 16, learningRate: 0.003, loggingSteps: 6, saveStrategy: 'no', reportTo: [] },
    }));
    const { stdout, stderr } = await cli(['distill', '--config', config, '--teacher', teacherDir, '--num-train-epochs', '6', '--learning-rate', '0.01']);
    expect(stderr).toMatch(/loss kd \+ hidden \+ attention/);
    expect(stdout).toMatch(/^distill: 36 steps, saved the student to /);
    const metrics = results(studentDir);
    for (const term of ['loss/kd', 'loss/kd/soft', 'loss/kd/hard', 'loss/hidden', 'loss/attention']) expect(Number.isFinite(metrics[term]), term).toBe(true);
    expect(metrics.epoch).toBe(6);
    const student = JSON.parse(readFileSync(join(studentDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect([student.hidden_size, student.num_hidden_layers, student.num_labels ?? Object.keys(student.id2label as object).length]).toEqual([16, 1, 2]);
    expect(metrics.eval_accuracy).toBeGreaterThanOrEqual(0.8);
  });

  it('eval: prints and writes the saved student\'s metrics, the same accuracy distill measured', async () => {
    const out = join(tmp, 'eval', 'metrics.json');
    const { stdout } = await cli(['eval', '--model', studentDir, '--data', task.eval, '--json', out]);
    const written = JSON.parse(readFileSync(out, 'utf8')) as Record<string, number>;
    expect(written.examples).toBe(48);
    expect(written.eval_accuracy).toBe(results(studentDir).eval_accuracy);
    expect(written.eval_ms_per_example).toBeGreaterThan(0);
    expect(stdout).toContain(`eval_accuracy  `);
  });

  it('a bad flag value exits 1 with one typed line naming the flag and field, before any training', async () => {
    const outputDir = join(tmp, 'never');
    const err = await cli(['train', '--config', join(tmp, 'train.yaml'), '--output-dir', outputDir, '--learning-rate', 'fast']).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/^error \[CONFIG_INVALID\]: --learning-rate fast \(training\.learningRate\) must be a finite number/m);
    expect(existsSync(outputDir)).toBe(false);
  });
});
