/**
 * Composing distillation objectives: logit KD with an annealed temperature, hidden-state MSE
 * whose weight decays to zero over the first half of training, and attention MSE at a constant
 * weight. DistillationTrainer sums `weight(step) · term` and logs every term; this prints them
 * with the weights in force, then teacher vs student accuracy on held-out data.
 *
 *   npx tsx --conditions=distillery-source examples/composed-objectives.ts [--short]
 */
import 'reflect-metadata';
import { AttentionPlugin, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin, scheduleValue, type LossPlugin } from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';
import { SHORT, accuracy, keywordTask, runDir, smallBert, trainTeacher } from './toy-task.js';

await initBackend();
const train = keywordTask(SHORT ? 96 : 384, 1);
const test = keywordTask(SHORT ? 64 : 256, 2);
const teacher = await trainTeacher(train, SHORT ? 6 : 8);

const maxSteps = SHORT ? 24 : 160;
const kd = new LogitKdPlugin({ temperature: { kind: 'linear', from: 4, to: 1 }, alpha: 0.7 });
const hidden = new HiddenStatePlugin({ weight: { kind: 'linear', from: 1, to: 0, endStep: maxSteps / 2 } });
const attention = new AttentionPlugin({ weight: 0.5 });
const plugins: LossPlugin[] = [kd, hidden, attention];

// H=32 student vs H=48 teacher: the hidden-state term learns a 32→48 projection, trained and checkpointed with the student.
const student = smallBert(32, 2, 7);
const trainer = new DistillationTrainer({
  model: student,
  teacher,
  plugins,
  args: { outputDir: runDir('composed'), maxSteps, perDeviceTrainBatchSize: 16, learningRate: 3e-3, loggingSteps: maxSteps / 4, saveStrategy: 'no', reportTo: [], disableTqdm: true },
  trainDataset: train,
});
await trainer.train();

console.log(`step  loss    | ${plugins.map((p) => `${p.name} (weight)`.padEnd(18)).join(' | ')} | T`);
for (const log of trainer.state.logHistory.filter((e) => 'loss/kd' in e)) {
  const term = (p: LossPlugin) => `${log[`loss/${p.name}`]!.toExponential(2)} (${scheduleValue(p.weight, log.step, maxSteps).toFixed(2)})`.padEnd(18);
  const { temperature } = kd.settings({ step: log.step, maxSteps });
  console.log(`${String(log.step).padStart(4)}  ${log.loss!.toFixed(4)}  | ${plugins.map(term).join(' | ')} | ${temperature.toFixed(2)}`);
}
console.log(`held-out accuracy: teacher ${(await accuracy(teacher, test)).toFixed(3)}, distilled student ${(await accuracy(student, test)).toFixed(3)}`);
plugins.forEach((p) => p.dispose?.());
