/**
 * `distill --teacher-tokenizer`, through the real command entry (runCli, in-process): a teacher
 * with its own tokenizer (22 tokens) teaches a student with another (26 tokens, other ids, some
 * words only as pieces) from unlabelled text rows; without the flag the vocabulary mismatch is one
 * line naming it; the student's ids are not checked against the teacher's vocabulary; what cannot
 * cross tokenizers (pre-tokenized rows, token-level plugins, a teacher cache, per-token tasks,
 * embeddings copied from the teacher) is
 * refused by name. Sentence pairs run too.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readdirSync, copyFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoTokenizer, BertForSequenceClassification, createConfig, writeWordPieceTokenizer } from '@distillery/models';
import { Trainer, initBackend } from '@distillery/trainer';
import { cliInProcess as cli } from '../helpers/cli.js';
import { OTHER_VOCAB, VOCAB, sentimentRows, writeJsonl } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-teacher-tok-'));
const teacher = join(tmp, 'teacher');
const student = join(tmp, 'student');
const train = join(tmp, 'transfer.jsonl');
const evalFile = join(tmp, 'eval.jsonl');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A 1-layer BERT over `vocab`, saved with its WordPiece tokenizer. */
function small(vocab: readonly string[], hidden: number, seed: number): BertForSequenceClassification {
  return new BertForSequenceClassification(createConfig('bert', { vocabSize: vocab.length, hiddenSize: hidden, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 2 * hidden, maxPositionEmbeddings: 32, numLabels: 2 }), seed);
}

async function saveWithTokenizer(model: BertForSequenceClassification, vocab: string[], dir: string): Promise<void> {
  await model.savePretrained(dir);
  const tok = writeWordPieceTokenizer(vocab, join(tmp, `${dir.split('/').at(-1)}-tok`), { modelMaxLength: 32 });
  for (const f of readdirSync(tok)) copyFileSync(join(tok, f), join(dir, f));
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  // The teacher learns the task on its own tokenizer's ids.
  const rows = sentimentRows(160, 7);
  await saveWithTokenizer(small(VOCAB, 32, 1), VOCAB, teacher);
  const model = await BertForSequenceClassification.fromPretrained(teacher, { log: false });
  const ids = (await AutoTokenizer.fromPretrained(teacher)).encode(rows.map((r) => r.text), { truncation: true, maxLength: 16 }).inputIds;
  await new Trainer({ model, args: { outputDir: join(tmp, 'unused'), numTrainEpochs: 6, perDeviceTrainBatchSize: 16, learningRate: 5e-3, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 5 }, trainDataset: rows.map((r, i) => ({ inputIds: ids[i]!, label: r.label })) }).train();
  await model.savePretrained(teacher);
  model.dispose();
  await saveWithTokenizer(small(OTHER_VOCAB, 16, 2), OTHER_VOCAB, student);
  writeJsonl(train, rows.map(({ text }) => ({ text })));
  writeJsonl(evalFile, sentimentRows(200, 8));
  tf.disposeVariables();
});

const distill = (outputDir: string, ...more: string[]): string[] => [
  'distill', '--teacher', teacher, '--student', student, '--train-file', train, '--eval-file', evalFile, '--max-length', '16',
  '--output-dir', outputDir, '--batch-size', '16', '--learning-rate', '5e-3', '--set', 'plugins=[{"type":"logitKd","temperature":1,"alpha":1}]',
  '--set', 'training.reportTo=[]', '--set', 'training.disableTqdm=true', '--set', 'training.saveStrategy="no"', ...more,
];

/** The one `error [...]` line of a failed run. */
function errorLine(r: { code: number; stderr: string }): string {
  expect(r.code).toBe(1);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('error ['));
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0]!;
}

describe('distill --teacher-tokenizer', () => {
  it('without it, the vocabulary mismatch is one line naming the flag, before the data is read', async () => {
    const line = errorLine(await cli(...distill(join(tmp, 'never'), '--max-steps', '1')));
    expect(line).toBe(`error [VOCAB_MISMATCH]: teacher vocab_size 22 (bert) differs from student vocab_size 26 (bert): they use different tokenizers. Set teacherTokenizer (--teacher-tokenizer ${teacher}), so the teacher re-encodes each example's text with its own tokenizer (sequence-level plugins such as logitKd); or pick a student that shares the teacher's tokenizer.`);
  });

  it('the student learns from the teacher alone (unlabelled rows) through the teacher\'s own tokenizer', async () => {
    const out = join(tmp, 'distilled');
    const r = await cli(...distill(out, '--teacher-tokenizer', teacher, '--num-train-epochs', '6'));
    expect(r.code, r.stderr).toBe(0);
    // The rows are tokenized for the student (its own tokenizer by default): ids up to 25, past the teacher's 22.
    expect(r.stderr).toMatch(/on 160 unlabelled examples, loss kd/);
    const results = JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8')) as Record<string, number>;
    console.log(`distilled across tokenizers from 160 unlabelled rows: eval accuracy ${results.eval_accuracy} (chance 0.5)`);
    expect(results.eval_accuracy).toBeGreaterThan(0.85);
    // The saved student keeps its own tokenizer.
    expect(readFileSync(join(out, 'vocab.txt'), 'utf8').split('\n')).toContain('##ful');

    // Sentence-pair rows reach the teacher as pairs (test/plugins/cross-tokenizer.test.ts checks the encoding).
    const pairs = writeJsonl(join(tmp, 'pairs.jsonl'), sentimentRows(16, 9).map(({ text }, i) => ({ text, textPair: i % 2 ? 'the plot' : 'a film' })));
    const p = await cli(...distill(join(tmp, 'pairs-run'), '--teacher-tokenizer', teacher, '--train-file', pairs, '--max-steps', '1'));
    expect(p.code, p.stderr).toBe(0);
  });

  it('refuses what cannot cross tokenizers: pre-tokenized rows, token-level plugins, a teacher cache, a per-token task', async () => {
    const ids = writeJsonl(join(tmp, 'ids.jsonl'), [{ inputIds: [2, 6, 3] }, { inputIds: [2, 9, 3] }]);
    expect(errorLine(await cli(...distill(join(tmp, 'never'), '--teacher-tokenizer', teacher, '--train-file', ids, '--max-steps', '1'))))
      .toMatch(/^error \[DATA_INVALID\]: the teacher uses another tokenizer .*keep "text" on every training example/);
    expect(errorLine(await cli(...distill(join(tmp, 'never'), '--teacher-tokenizer', teacher, '--max-steps', '1', '--set', 'plugins=[{"type":"hiddenState"}]'))))
      .toMatch(/^error \[VOCAB_MISMATCH\]: the teacher uses another tokenizer .*token-level plugins/);
    expect(errorLine(await cli(...distill(join(tmp, 'never'), '--teacher-tokenizer', teacher, '--teacher-cache', tmp))))
      .toMatch(/^error \[CONFIG_INVALID\]: --teacher-tokenizer .* cannot be used with teacherCache/);
    expect(errorLine(await cli(...distill(join(tmp, 'never'), '--teacher-tokenizer', teacher, '--task', 'token-classification'))))
      .toMatch(/^error \[CONFIG_INVALID\]: --teacher-tokenizer .* works for sequence-level heads only/);
    expect(errorLine(await cli(...distill(join(tmp, 'never'), '--teacher-tokenizer', teacher, '--init-from-teacher', 'first-k'))))
      .toMatch(/^error \[CONFIG_INVALID\]: --init-from-teacher .* copies the teacher's embeddings, whose rows are its own tokenizer's ids/);
  });
});
