// Distillation in a training loop of your own: DistillationObjective runs the frozen teacher and
// sums the plugins' weighted terms; the loop, the optimizer and the batches stay yours.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@distillery/backends';
import { BertForSequenceClassification, createConfig } from '@distillery/models';
import { AttentionPlugin, DistillationObjective, HiddenStatePlugin, LogitKdPlugin } from '@distillery/plugins';

await initBackend();
const config = (hiddenSize: number, numHiddenLayers: number) =>
  createConfig('bert', { vocabSize: 100, hiddenSize, numHiddenLayers, numAttentionHeads: 2, intermediateSize: 2 * hiddenSize, maxPositionEmbeddings: 16 });
const teacher = new BertForSequenceClassification(config(32, 4), 1); // yours: e.g. await AutoModelForSequenceClassification.fromPretrained(dir)
const student = new BertForSequenceClassification(config(16, 2), 2);

const plugins = [new LogitKdPlugin({ temperature: 2, alpha: 0.5 }), new HiddenStatePlugin({ weight: 0.1 }), new AttentionPlugin({ weight: 0.1 })];
const objective = new DistillationObjective(plugins, teacher);
objective.setup(student); // checks the pair; builds layer maps and the 16 → 32 hidden-state projection
const variables = [...student.namedParameters().values(), ...objective.variables().values()]; // the projection trains too
const optimizer = tf.train.adam(1e-3);

const maxSteps = 20;
const losses: number[] = [];
const tensorsAfterStep: number[] = [];
for (let step = 0; step < maxSteps; step++) {
  // Your batches: here 8 rows of [CLS] 6 ids [SEP], labelled by whether id 7 occurs.
  const rows = Array.from({ length: 8 }, (_, b) => [2, ...Array.from({ length: 6 }, (_, t) => 4 + ((step * 31 + b * 17 + t * 13) % 96)), 3]);
  const labels = rows.map((row) => (row.includes(7) ? 1 : 0));
  const progress = { step, maxSteps }; // plugin weights and temperatures may follow a schedule
  const loss = tf.tidy(() => {
    const batch = { inputIds: tf.tensor2d(rows, undefined, 'int32'), labels: tf.tensor1d(labels, 'int32') };
    const teachers = objective.teacherOutputs(batch, progress); // outside the gradient tape: the teacher stays frozen
    return optimizer.minimize(() => objective.compute(student, batch, teachers, progress, { training: true, seed: step }).loss, true, variables)!;
  });
  losses.push((await loss.data())[0]!);
  loss.dispose();
  tensorsAfterStep.push(tf.memory().numTensors);
}
console.log(`loss ${losses[0]!.toFixed(4)} → ${losses[maxSteps - 1]!.toFixed(4)} over ${maxSteps} steps; tensors alive after each step from the 2nd: ${[...new Set(tensorsAfterStep.slice(1))].join(', ')}`);
