/**
 * A TypeScript project of your own that uses the installed packages (README: "Use it in your
 * project"). It distils a 2-layer student from a 4-layer teacher with logit KD, hidden-state and
 * attention terms plus a loss plugin of its own registered on tsyringe's root container, saves
 * the student like HF's save_model, reloads it, and prints a JSON summary as its last line.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { initBackend } from '@distillery/backends';
import { AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification, createConfig, writeWordPieceTokenizer } from '@distillery/models';
import { AttentionPlugin, DistillationTrainer, HiddenStatePlugin, LOSS_PLUGIN, LogitKdPlugin, requireOutput, type LossContext, type LossPlugin, type OutputRequest } from '@distillery/plugins';
import type { Example } from '@distillery/trainer';
// After @distillery/plugins, which loads the reflect-metadata polyfill tsyringe checks for on import
// (importing tsyringe first needs your own `import 'reflect-metadata'` above it).
import { container } from 'tsyringe';

/** Your own term: the student's pooled [CLS] vectors should relate across the batch as the teacher's do. */
class PooledRelationPlugin implements LossPlugin {
  readonly name = 'pooledRelation';
  readonly weight = 0.5;
  requires(): OutputRequest {
    return { pooledOutput: true };
  }
  compute(ctx: LossContext): tf.Scalar {
    // [B, H] → [B, B] cosine similarities: comparable although student and teacher widths differ.
    const relation = (pooled: tf.Tensor2D) => {
      const unit = tf.div(pooled, tf.norm(pooled, 'euclidean', -1, true));
      return tf.matMul(unit, unit, false, true);
    };
    return tf.losses.meanSquaredError(relation(requireOutput(ctx.teacher, 'pooledOutput')), relation(requireOutput(ctx.student, 'pooledOutput')));
  }
}

const backend = await initBackend();
mkdirSync('runs', { recursive: true });

// A tiny task: is the review positive? Tokenized by a WordPiece tokenizer written for it.
const words = ['good', 'great', 'fun', 'bad', 'dull', 'awful', 'movie', 'plot', 'the', 'was'];
writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...words], 'runs/tokenizer');
const tokenizer = await AutoTokenizer.fromPretrained('runs/tokenizer');
const texts = Array.from({ length: 32 }, (_, i) => `the ${words[6 + (i % 2)]} was ${words[i % 6]} ${words[(i * 5) % 6]}`);
const labels = texts.map((t) => (/good|great|fun/.test(t.split(' ').slice(3).join(' ')) ? 1 : 0));
const rows = tokenizer.encode(texts).inputIds;
const train: Example[] = rows.map((inputIds, i) => ({ inputIds, label: labels[i]! }));
writeFileSync('runs/train.jsonl', texts.map((text, i) => JSON.stringify({ text, label: labels[i] })).join('\n') + '\n');

const size = (hiddenSize: number, numHiddenLayers: number) =>
  createConfig('bert', { vocabSize: tokenizer.vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads: 2, intermediateSize: 2 * hiddenSize, maxPositionEmbeddings: 16 });
const teacher = new BertForSequenceClassification(size(32, 4), 1);
const student = new BertForSequenceClassification(size(16, 2), 2);
await teacher.savePretrained('runs/teacher');
await tokenizer.savePretrained('runs/teacher');

// Registered once on the root container: every DistillationTrainer picks it up.
container.register(LOSS_PLUGIN, { useClass: PooledRelationPlugin });

const tensorsAtStepEnd: number[] = [];
const trainer = new DistillationTrainer({
  model: student,
  teacher,
  plugins: [new LogitKdPlugin({ temperature: 2, alpha: 0.5 }), new HiddenStatePlugin({ weight: 0.1 }), new AttentionPlugin({ weight: 0.1 })],
  args: { outputDir: 'runs/student', maxSteps: 20, perDeviceTrainBatchSize: 8, learningRate: 1e-3, loggingSteps: 10, saveStrategy: 'no', reportTo: 'none', disableTqdm: true },
  trainDataset: train,
  processingClass: tokenizer,
  callbacks: [{ onStepEnd: () => void tensorsAtStepEnd.push(tf.memory().numTensors) }],
});
const result = await trainer.train();
await trainer.saveModel(); // config.json + model.safetensors + tokenizer files + training_args.json

// Reload the saved folder: it must give exactly the trained student's logits.
const reloaded = await AutoModelForSequenceClassification.fromPretrained('runs/student', { log: false });
const batch = tokenizer.encode(texts.slice(0, 4), { padding: true });
// Read with `await array()`: on a GPU backend the logits live on the device.
const logits = async (model: { forward(inputs: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }): { logits: tf.Tensor } }) => {
  const out = tf.tidy(() => model.forward({ inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'), attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32') }).logits);
  const values = await out.array();
  out.dispose();
  return values;
};
const [before, after] = [await logits(student), await logits(reloaded)];

console.log(JSON.stringify({
  backend: backend.backend,
  steps: result.globalStep,
  loss: result.trainingLoss,
  terms: Object.keys(trainer.state.logHistory[0] ?? {}).filter((k) => k.startsWith('loss/')),
  tensorGrowth: tensorsAtStepEnd[tensorsAtStepEnd.length - 1]! - tensorsAtStepEnd[1]!,
  sameTensorClass: trainer.model.namedParameters().values().next().value instanceof tf.Variable,
  identicalLogits: JSON.stringify(before) === JSON.stringify(after),
}));
