/**
 * `distillery export` and `distillery distill --teacher <ONNX folder>`, in-process through runCli:
 * the export loads in transformers.js' text-classification pipeline (local files only) with the
 * TF.js model's label and scores; a folder without a tokenizer exports the model alone and says
 * so; a non-empty or input --out is refused before any work; an exported teacher distils, with the
 * layer plugins when exported with --hidden-states --attentions.
 */
import * as tf from '@tensorflow/tfjs';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, BertForSequenceClassification, encodingToTensors, parseConfig, type BertConfig } from '@distillery/models';
import { initBackend } from '@distillery/backends';
import * as hf from '@huggingface/transformers';
import { cliInProcess as cli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { bertConfig, writeTask } from './fixtures.js';

const tmp = tempDir('distillery-cli-export-');

/** transformers.js' text-classification pipeline on an exported folder (local files only): score per label. */
async function pipelineScores(out: string, text: string): Promise<Record<string, number>> {
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = `${dirname(out)}/`;
  const classify = await hf.pipeline('text-classification', basename(out), { dtype: 'fp32', device: 'cpu' });
  const scores = (await classify(text, { top_k: null })) as Array<{ label: string; score: number }>;
  await classify.dispose();
  return Object.fromEntries(scores.map((s) => [s.label, s.score]));
}
const task = writeTask(tmp);
const modelDir = join(tmp, 'model');
const bare = join(tmp, 'bare');

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const config = parseConfig({ ...bertConfig(16, 2), id2label: { 0: 'negative', 1: 'positive' } }, 'test') as BertConfig;
  const model = new BertForSequenceClassification(config, 4);
  await model.savePretrained(modelDir);
  await model.savePretrained(bare);
  model.dispose();
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) if (existsSync(join(task.tokenizer, f))) copyFileSync(join(task.tokenizer, f), join(modelDir, f));
});

describe('distillery export', () => {
  it('writes the transformers.js layout; the pipeline gives the TF.js label and scores', async () => {
    const out = join(tmp, 'exported');
    const r = await cli('export', '--model', modelDir, '--out', out, '--quantize');
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['config.json', 'tokenizer.json', 'vocab.txt', 'onnx/model.onnx', 'onnx/model_quantized.onnx']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(r.stderr).not.toMatch(/model alone/);

    const text = 'the movie was really good';
    const byLabel = await pipelineScores(out, text);

    const model = await BertForSequenceClassification.fromPretrained(modelDir, { log: false });
    const tokenizer = await AutoTokenizer.fromPretrained(modelDir);
    const probs = tf.tidy(() => tf.softmax(model.forward(encodingToTensors(tokenizer.encode([text]))).logits).arraySync() as number[][]);
    model.dispose();
    expect(Math.abs(byLabel.negative! - probs[0]![0]!)).toBeLessThan(1e-4);
    expect(Math.abs(byLabel.positive! - probs[0]![1]!)).toBeLessThan(1e-4);
  });

  it('a folder without a tokenizer exports the model alone and says so', async () => {
    const out = join(tmp, 'bare-export');
    const r = await cli('export', '--model', bare, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/has no tokenizer files .*exported the model alone/);
    expect(existsSync(join(out, 'onnx/model.onnx'))).toBe(true);
    expect(existsSync(join(out, 'onnx/model_quantized.onnx'))).toBe(false);
  });

  it('refuses a non-empty --out and one inside the model folder, before loading anything', async () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    const r1 = await cli('export', '--model', modelDir, '--out', full);
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/^error \[OUTPUT_PATH_INVALID\]: --out .*full is not empty/);
    expect(readFileSync(join(full, 'keep.txt'), 'utf8')).toBe('mine');
    const r2 = await cli('export', '--model', modelDir, '--out', join(modelDir, 'onnx-out'));
    expect(r2.stderr).toMatch(/^error \[OUTPUT_PATH_INVALID\]: .*inside the model folder/);
  });
});

describe('distillery distill --teacher <ONNX folder>', () => {
  it('distils a student from the exported teacher and saves it', async () => {
    const config = join(tmp, 'distill.json');
    writeFileSync(config, JSON.stringify({
      teacher: join(tmp, 'exported'),
      student: bertConfig(16, 1),
      tokenizer: task.tokenizer,
      data: { train: task.train, maxLength: 16 },
      plugins: [{ type: 'logitKd', temperature: 2, alpha: 1 }],
      training: { outputDir: join(tmp, 'student'), maxSteps: 3, perDeviceTrainBatchSize: 16, saveStrategy: 'no', reportTo: [] },
    }));
    const r = await cli('distill', '--config', config);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^distill: 3 steps, saved the student to /);
    expect(existsSync(join(tmp, 'student', 'model.safetensors'))).toBe(true);

    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), plugins: [{ type: 'hiddenState' }], training: { outputDir: join(tmp, 'student2'), maxSteps: 1, reportTo: [] } }));
    const refused = await cli('distill', '--config', config);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[OUTPUT_MISSING\]: ONNX teacher .*model\.onnx: the graph has no hidden_states\.\{i\} outputs .*--hidden-states`/m);
  });

  it('exported with --hidden-states --attentions, the teacher serves the hidden-state and attention plugins', async () => {
    const out = join(tmp, 'exported-layers');
    const r = await cli('export', '--model', modelDir, '--out', out, '--hidden-states', '--attentions');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('graph outputs logits, hidden_states.{0..2}, attentions.{0..1}');
    // transformers.js' pipeline reads logits and ignores the layer outputs: the same scores as the plain export.
    const text = 'the acting was awful';
    const [plain, layered] = [await pipelineScores(join(tmp, 'exported'), text), await pipelineScores(out, text)];
    for (const label of ['negative', 'positive']) expect(Math.abs(layered[label]! - plain[label]!), label).toBeLessThan(1e-6);
    const config = join(tmp, 'distill-layers.json');
    writeFileSync(config, JSON.stringify({
      teacher: out, student: bertConfig(16, 1), tokenizer: task.tokenizer, data: { train: task.train, maxLength: 16 },
      plugins: [{ type: 'logitKd' }, { type: 'hiddenState', maskPadding: true }, { type: 'attention' }],
      training: { outputDir: join(tmp, 'student-layers'), maxSteps: 2, perDeviceTrainBatchSize: 16, loggingSteps: 1, saveStrategy: 'no', reportTo: [] },
    }));
    const d = await cli('distill', '--config', config);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/loss\/hidden +\d/);
    expect(d.stdout).toMatch(/loss\/attention +\d/);
  });
});
