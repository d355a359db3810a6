/**
 * Acceptance, per task, on tiny models and synthetic text this test writes (through the task
 * readers and a real WordPiece tokenizer):
 * - token classification and question answering: a teacher learns from 192 labelled rows; a
 *   student trained alone on 32 of them loses to the same student distilled from the teacher
 *   (soft labels on the 192 rows without their labels, the transfer-set setting), on held-out
 *   seqeval entity F1 / SQuAD F1. Both tasks need a lookup (which word is which entity, which
 *   name is a place) that 32 rows do not cover.
 * - masked LM: general distillation from a student initialised from the teacher's layers lowers
 *   the held-out MLM loss faster than from a random student, step for step.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AutoConfig, AutoTokenizer, BertForMaskedLM, BertForQuestionAnswering, BertForTokenClassification, initFromTeacher, writeWordPieceTokenizer } from '@distillery/models';
import { DistillationTrainer, LogitKdPlugin } from '@distillery/plugins';
import {
  DataCollatorForLanguageModeling, DataCollatorForQuestionAnswering, Rng, Trainer, initBackend, languageModelingExamples, maskedEvalExamples, postprocessQaPredictions,
  questionAnsweringFeatures, squadMetrics, tokenClassificationExamples, tokenClassificationMetrics, type SquadExample, type TokenClassificationRow, type TrainingArgumentsInit,
} from '@distillery/trainer';

const words = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const FILLER = words('f', 30);
const PER = words('p', 40);
const LOC = words('l', 40);
const SURNAMES = words('s', 8);
const QUESTIONS = words('q', 4);
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...FILLER, ...PER, ...LOC, ...SURNAMES, ...QUESTIONS];
const LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

const tmp = mkdtempSync(join(tmpdir(), 'task-distill-'));
let tokenizer: AutoTokenizer;
beforeAll(async () => {
  await initBackend({ log: false });
  tokenizer = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(VOCAB, join(tmp, 'tok')));
});
afterAll(() => {
  tf.disposeVariables();
  rmSync(tmp, { recursive: true, force: true });
});

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
const args = (name: string, epochs: number, lr = 3e-3, extra: Partial<TrainingArgumentsInit> = {}): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), numTrainEpochs: epochs, perDeviceTrainBatchSize: 16, learningRate: lr, loggingSteps: 1000, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 11, ...extra,
});
const bert = (hidden: number, layers: number, extra: object = {}) => AutoConfig.forModel('bert', { vocabSize: VOCAB.length, hiddenSize: hidden, numHiddenLayers: layers, numAttentionHeads: 2, intermediateSize: 2 * hidden, maxPositionEmbeddings: 64, ...extra });

/** Filler sentences with person / place names (some people have a surname: "pX sY"), a filler word after each name. */
function nerRows(n: number, seed: number): TokenClassificationRow[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const tokens: string[] = [];
    const tags: string[] = [];
    const length = 6 + rng.int(4);
    while (tokens.length < length) {
      if (rng.next() < 0.3) {
        const person = rng.next() < 0.5;
        tokens.push(pick(rng, person ? PER : LOC));
        tags.push(person ? 'B-PER' : 'B-LOC');
        if (person && rng.next() < 0.5) {
          tokens.push(pick(rng, SURNAMES));
          tags.push('I-PER');
        }
      }
      tokens.push(pick(rng, FILLER));
      tags.push('O');
    }
    return { tokens, tags };
  });
}

it('token classification: the distilled student beats the student trained alone (entity F1)', async () => {
  const read = (rows: TokenClassificationRow[]) => tokenClassificationExamples(rows, tokenizer, { labelList: LABELS, maxLength: 32 });
  const train = read(nerRows(192, 1));
  const test = read(nerRows(96, 2));
  const config = (hidden: number, layers: number) => bert(hidden, layers, { numLabels: LABELS.length, id2label: Object.fromEntries(LABELS.map((l, i) => [i, l])) });
  const metrics = tokenClassificationMetrics(LABELS);
  const f1 = async (trainer: Trainer<any, any, any>): Promise<number> => {
    const out = await trainer.predict(test);
    return metrics({ predictions: out.predictions, labelIds: out.labelIds }).f1!;
  };

  const teacher = new BertForTokenClassification(config(32, 2), 1);
  const teacherTrainer = new Trainer({ model: teacher, args: args('ner-teacher', 15), trainDataset: train });
  await teacherTrainer.train();
  const alone = new BertForTokenClassification(config(16, 1), 2);
  const aloneTrainer = new Trainer({ model: alone, args: args('ner-alone', 24), trainDataset: train.slice(0, 32) });
  await aloneTrainer.train();
  const distilled = new BertForTokenClassification(config(16, 1), 2);
  const kd = new DistillationTrainer({
    model: distilled, teacher, plugins: [new LogitKdPlugin({ temperature: 1, alpha: 1 })], args: args('ner-kd', 6),
    trainDataset: train.map(({ inputIds, tokenTypeIds }) => ({ inputIds, tokenTypeIds })),
  });
  await kd.train();
  const [t, a, d] = [await f1(teacherTrainer), await f1(aloneTrainer), await f1(kd)];
  console.log(`held-out entity F1: teacher ${t.toFixed(3)}, student alone ${a.toFixed(3)}, distilled student ${d.toFixed(3)}`);
  expect(t).toBeGreaterThan(0.8);
  expect(d).toBeGreaterThan(a + 0.1);
  for (const m of [teacher, alone, distilled]) m.dispose();
});

/** "Where …?": the answer is the context's one place name; a person's name is there too, and filler. */
function squad(n: number, seed: number): SquadExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const parts = Array.from({ length: 8 + rng.int(6) }, () => pick(rng, FILLER));
    const answer = pick(rng, LOC);
    parts.splice(rng.int(parts.length + 1), 0, pick(rng, PER));
    parts.splice(rng.int(parts.length + 1), 0, answer);
    const context = parts.join(' ');
    return { id: `${seed}-${i}`, question: pick(rng, QUESTIONS), context, answers: [{ text: answer, answerStart: context.indexOf(answer) }] };
  });
}

it('question answering: the distilled student beats the student trained alone (SQuAD F1)', async () => {
  const options = { maxLength: 16, docStride: 4 };
  const trainExamples = squad(192, 3);
  const testExamples = squad(96, 4);
  const train = questionAnsweringFeatures(trainExamples, tokenizer, options);
  const test = questionAnsweringFeatures(testExamples, tokenizer, options);
  expect(train.length).toBeGreaterThan(trainExamples.length); // some contexts take two windows
  const collator = new DataCollatorForQuestionAnswering();
  const score = async (trainer: Trainer<any, any, any>): Promise<number> => {
    const out = await trainer.predict(test);
    const answers = postprocessQaPredictions(testExamples, test, out.predictions as number[][][]);
    return squadMetrics(answers, testExamples.map((e) => e.answers.map((a) => a.text))).f1;
  };
  const labelledExamples = new Set(trainExamples.slice(0, 32).map((_, i) => i));

  const teacher = new BertForQuestionAnswering(bert(32, 2), 5);
  const teacherTrainer = new Trainer({ model: teacher, args: args('qa-teacher', 8), trainDataset: train, dataCollator: collator });
  await teacherTrainer.train();
  const alone = new BertForQuestionAnswering(bert(16, 1), 6);
  const aloneTrainer = new Trainer({ model: alone, args: args('qa-alone', 32), trainDataset: train.filter((f) => labelledExamples.has(f.exampleIndex)), dataCollator: collator });
  await aloneTrainer.train();
  const distilled = new BertForQuestionAnswering(bert(16, 1), 6);
  const kd = new DistillationTrainer({
    model: distilled, teacher, plugins: [new LogitKdPlugin({ target: 'span', temperature: 1, alpha: 1 })], args: args('qa-kd', 8), trainDataset: train, dataCollator: collator,
  });
  await kd.train();
  const [t, a, d] = [await score(teacherTrainer), await score(aloneTrainer), await score(kd)];
  console.log(`held-out SQuAD F1: teacher ${t.toFixed(1)}, student alone ${a.toFixed(1)}, distilled student ${d.toFixed(1)}`);
  expect(t).toBeGreaterThan(80);
  expect(d).toBeGreaterThan(a + 10);
  for (const m of [teacher, alone, distilled]) m.dispose();
});

it('masked LM: general distillation from a student initialised from the teacher lowers MLM loss faster than from a random one', async () => {
  // Each text keeps to one of five topics of six words: a masked word is one of its topic's.
  const rng = new Rng(7);
  const text = (n: number) => Array.from({ length: n }, () => {
    const topic = FILLER.slice(6 * rng.int(5)).slice(0, 6);
    return Array.from({ length: 12 }, () => pick(rng, topic)).join(' ');
  });
  const masking = { vocabSize: VOCAB.length, maskTokenId: tokenizer.maskTokenId!, specialTokenIds: [0, 2, 3] };
  const train = languageModelingExamples(text(240), tokenizer, { maxLength: 14 });
  const evalSet = maskedEvalExamples(languageModelingExamples(text(60), tokenizer, { maxLength: 14 }), { ...masking, seed: 1 });
  const collator = (seed: number) => new DataCollatorForLanguageModeling({ ...masking, seed });

  const teacher = new BertForMaskedLM(bert(32, 4), 8);
  await new Trainer({ model: teacher, args: args('mlm-teacher', 12), trainDataset: train, dataCollator: collator(1) }).train();
  const evalLoss = async (model: BertForMaskedLM): Promise<number> => (await new Trainer({ model, args: args('mlm-eval', 1) }).evaluate(evalSet)).eval_loss!;
  const teacherLoss = await evalLoss(teacher);

  const losses: Record<string, number[]> = {};
  for (const init of ['teacher', 'random'] as const) {
    const student = new BertForMaskedLM(bert(32, 2), 9);
    if (init === 'teacher') expect(initFromTeacher(student, teacher, 'every-other').teacherLayers).toEqual([0, 2]);
    losses[init] = [await evalLoss(student)];
    for (let round = 0; round < 2; round++) {
      const kd = new DistillationTrainer({ model: student, teacher, plugins: [new LogitKdPlugin({ temperature: 2, alpha: 0.5 })], args: args(`mlm-${init}`, 1, 2e-3, { seed: 11 + round }), trainDataset: train, dataCollator: collator(2 + round) });
      await kd.train();
      losses[init].push(await evalLoss(student));
    }
    student.dispose();
  }
  console.log(`held-out MLM loss: teacher ${teacherLoss.toFixed(3)}; per epoch of distillation, from teacher init ${losses.teacher!.map((l) => l.toFixed(3)).join(' → ')}, from random init ${losses.random!.map((l) => l.toFixed(3)).join(' → ')}`);
  expect(teacherLoss).toBeLessThan(Math.log(FILLER.length) - 0.5);
  losses.teacher!.forEach((l, i) => expect(l, `after ${i} epochs`).toBeLessThan(losses.random![i]!));
  expect(losses.teacher!.at(-1)!).toBeLessThan(losses.teacher![0]! + 1e-3);
  teacher.dispose();
});
