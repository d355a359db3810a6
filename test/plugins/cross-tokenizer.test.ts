/**
 * Distillation across tokenizers: the teacher reads each example's raw text with its own
 * WordPiece vocabulary, the student its own ids from a different vocabulary (other ids, other
 * size, some words split into pieces). Logit KD on the unlabelled texts makes the student beat the
 * same student trained on the few labels it has; token-level plugins and rows without text refuse.
 * Sentence pairs reach the teacher as pairs.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { AutoTokenizer, BertForSequenceClassification, createConfig, encodingToTensors, type BertConfig } from '@distillery/models';
import { CrossTokenizerTeacher, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin } from '@distillery/plugins';
import { Trainer, accuracy, argmaxPredictions, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { writeWordPieceTokenizer } from '@distillery/models';
import { OTHER_VOCAB as STUDENT_VOCAB, sentimentRows, VOCAB } from '../cli/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('distillery-cross-tok-');
// The fastest backend available: this test trains three models.
beforeAll(async () => { await initBackend({ log: false }); });


const args = (name: string, epochs: number, lr: number): TrainingArgumentsInit => ({
  outputDir: join(tmp, name), numTrainEpochs: epochs, perDeviceTrainBatchSize: 16, learningRate: lr, loggingSteps: 1000, saveStrategy: 'no', disableTqdm: true, reportTo: [], seed: 5,
});

function encode(tokenizer: AutoTokenizer, rows: Array<{ text: string; label: number }>, keepText: boolean): Example[] {
  const ids = tokenizer.encode(rows.map((r) => r.text), { truncation: true, maxLength: 16 }).inputIds;
  return rows.map((r, i) => ({ inputIds: ids[i]!, label: r.label, ...(keepText && { text: r.text }) }));
}

async function heldOut(trainer: Trainer<Example, any, any>, test: Example[]): Promise<number> {
  const out = await trainer.predict(test);
  const { predicted, labels } = argmaxPredictions({ predictions: out.predictions, labelIds: out.labelIds });
  return accuracy(predicted, labels);
}

it('a student distils from a teacher with another vocabulary through the raw text; token-level plugins refuse', async () => {
  const teacherTok = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(VOCAB, join(tmp, 'teacher-tok'), { modelMaxLength: 32 }));
  const studentTok = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(STUDENT_VOCAB, join(tmp, 'student-tok'), { modelMaxLength: 32 }));
  const train = sentimentRows(160, 7);
  const test = sentimentRows(200, 8);
  const small = (vocabSize: number, hidden: number): BertConfig => createConfig('bert', { vocabSize, hiddenSize: hidden, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 2 * hidden, maxPositionEmbeddings: 32, numLabels: 2 });

  const teacher = new BertForSequenceClassification(small(VOCAB.length, 32), 1);
  await new Trainer({ model: teacher, args: args('teacher', 6, 5e-3), trainDataset: encode(teacherTok, train, false) }).train();
  const crossTeacher = new CrossTokenizerTeacher(teacher, teacherTok, { maxLength: 16 });

  const studentTest = encode(studentTok, test, false);
  const alone = new BertForSequenceClassification(small(STUDENT_VOCAB.length, 16), 2);
  const aloneTrainer = new Trainer({ model: alone, args: args('alone', 10, 5e-3), trainDataset: encode(studentTok, train.slice(0, 6), false) });
  await aloneTrainer.train();
  const aloneAcc = await heldOut(aloneTrainer, studentTest);

  const distilled = new BertForSequenceClassification(small(STUDENT_VOCAB.length, 16), 2);
  const transfer = encode(studentTok, train, true).map(({ inputIds, text }) => ({ inputIds, text }));
  expect(() => new DistillationTrainer({ model: distilled, teacher: crossTeacher, plugins: [new HiddenStatePlugin()], args: args('refused', 1, 1e-3), trainDataset: transfer }))
    .toThrow(/another tokenizer.*token-level plugins/);
  const noText = new DistillationTrainer({ model: distilled, teacher: crossTeacher, plugins: [new LogitKdPlugin()], args: { ...args('no-text', 1, 1e-3), maxSteps: 1 }, trainDataset: transfer.map(({ inputIds }) => ({ inputIds })) });
  await expect(noText.train()).rejects.toThrow(/keep "text" on every training example/);

  const kd = new DistillationTrainer({ model: distilled, teacher: crossTeacher, plugins: [new LogitKdPlugin({ temperature: 1, alpha: 1 })], args: args('distilled', 6, 5e-3), trainDataset: transfer });
  await kd.train();
  // The distillation trainer's eval runs the teacher too, so its rows keep their text.
  const distilledAcc = await heldOut(kd, encode(studentTok, test, true));

  const teacherAcc = await heldOut(new Trainer({ model: teacher, args: args('eval', 1, 1e-3) }), encode(teacherTok, test, false));
  console.log(`held-out accuracy (200 rows): teacher ${teacherAcc.toFixed(3)} (its vocab: ${VOCAB.length}), student alone on 6 labels ${aloneAcc.toFixed(3)}, distilled across tokenizers (vocab ${STUDENT_VOCAB.length}) ${distilledAcc.toFixed(3)}`);
  expect(teacherAcc).toBeGreaterThan(0.9);
  expect(distilledAcc).toBeGreaterThan(aloneAcc + 0.1);
  for (const m of [teacher, alone, distilled]) m.dispose();
  tf.disposeVariables();
});

it('sentence pairs are encoded as pairs by the teacher\'s tokenizer; a batch mixing pairs and singles is refused', async () => {
  const tok = await AutoTokenizer.fromPretrained(writeWordPieceTokenizer(VOCAB, join(tmp, 'pair-tok'), { modelMaxLength: 32 }));
  const teacher = new BertForSequenceClassification(createConfig('bert', { vocabSize: VOCAB.length, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32, numLabels: 2 }), 3);
  const cross = new CrossTokenizerTeacher(teacher, tok);
  const texts = ['the movie was good', 'a very bad plot'];
  const textPairs = ['the acting is fine', 'poor'];
  const [viaWrapper, direct, singles] = tf.tidy(() => {
    const inputIds = tf.zeros([2, 3], 'int32') as tf.Tensor2D; // the student's ids: unread by the teacher
    const enc = encodingToTensors(tok.encode(texts, { textPairs, padding: true, truncation: true }));
    return [
      cross.forward({ inputIds, texts, textPairs }, { training: false }).logits.arraySync() as number[][],
      teacher.forward(enc).logits.arraySync() as number[][],
      cross.forward({ inputIds, texts }, { training: false }).logits.arraySync() as number[][],
    ];
  });
  expect(viaWrapper).toEqual(direct);
  // The pair changes what the teacher sees (token types and the second segment).
  expect(Math.abs(viaWrapper[0]![0]! - singles[0]![0]!)).toBeGreaterThan(1e-6);
  const ids = tf.zeros([2, 3], 'int32') as tf.Tensor2D;
  expect(() => cross.forward({ inputIds: ids, texts, textPairs: ['fine', undefined] }, { training: false }))
    .toThrow(/mixes sentence pairs \(textPair\) with single texts/);
  tf.dispose(ids);
  teacher.dispose();
});
