/**
 * TinyBERT's task distillation in two stages (Jiao et al. 2020), one run: first the
 * intermediate layers (embedding, hidden-state and attention-score MSE, through learned
 * projections since the student is narrower), then the prediction layer (soft cross-entropy
 * on the teacher's logits) once `intermediateSteps` have passed. The transfer set is unlabelled:
 * everything the student learns comes from the teacher.
 *
 *   npx tsx --conditions=distillery-source examples/tinybert-two-stage.ts [--short]
 */
import 'reflect-metadata';
import { DistillationTrainer, TinyBertPlugin } from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';
import { SHORT, accuracy, keywordTask, runDir, smallBert, trainTeacher } from './toy-task.js';

await initBackend();
const train = keywordTask(SHORT ? 96 : 384, 1);
const test = keywordTask(SHORT ? 64 : 256, 2);
const teacher = await trainTeacher(train, SHORT ? 6 : 8);

const maxSteps = SHORT ? 24 : 200;
const intermediateSteps = maxSteps / 2;
// Uniform layer map: student layer i imitates teacher layer 2i (2 vs 4 layers).
const tinybert = new TinyBertPlugin({ intermediateSteps, attentionTarget: 'scores', temperature: 1 });
const student = smallBert(32, 2, 7);
const trainer = new DistillationTrainer({
  model: student,
  teacher,
  plugins: [tinybert],
  args: { outputDir: runDir('tinybert'), maxSteps, perDeviceTrainBatchSize: 16, learningRate: 3e-3, lrSchedulerType: 'constant', loggingSteps: maxSteps / 8, saveStrategy: 'no', reportTo: [], disableTqdm: true },
  trainDataset: train.map(({ inputIds }) => ({ inputIds })), // labels withheld: a transfer set
});
await trainer.train();

console.log(`layer map (student ← teacher hidden states): ${tinybert.hiddenMap!.map(([s, t]) => `${s}←${t}`).join(' ')}`);
for (const log of trainer.state.logHistory.filter((e) => 'loss/tinybert' in e)) {
  const parts = ['embedding', 'hidden', 'attention', 'prediction'].filter((p) => `loss/tinybert/${p}` in log).map((p) => `${p} ${log[`loss/tinybert/${p}`]!.toExponential(2)}`);
  console.log(`step ${String(log.step).padStart(3)} [${tinybert.stage({ step: log.step - 1, maxSteps })}] ${parts.join(', ')}`);
}
console.log(`held-out accuracy: teacher ${(await accuracy(teacher, test)).toFixed(3)}, TinyBERT student ${(await accuracy(student, test)).toFixed(3)}`);
tinybert.dispose();
