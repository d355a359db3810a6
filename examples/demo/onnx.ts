/**
 * The distilled student as it ships: exported to ONNX (transformers.js layout, fp32 and dynamic
 * int8) and scored in ONNX Runtime on the same test emails, with the same timing as the TF.js rows.
 */
import * as tf from '@tensorflow/tfjs';
import { OnnxTeacher } from '@distillery/onnx';
import { accuracy, f1, type Example } from '@distillery/trainer';
import { fmtPct, type ModelResult } from './results.js';
import { msPerExample } from './timing.js';

/** Test accuracy/F1 and ms/example of `dir`'s ONNX model; sizes are the exported model's (`source`). */
export async function scoreOnnx(name: string, dir: string, dtype: 'fp32' | 'q8', test: readonly Example[], source: ModelResult): Promise<ModelResult> {
  const model = await OnnxTeacher.fromPretrained(dir, { dtype });
  try {
    const predicted: number[] = [];
    for (let i = 0; i < test.length; i += 64) {
      const rows = test.slice(i, i + 64);
      const width = Math.max(...rows.map((r) => r.inputIds.length));
      const pad = (r: Example, value: (j: number) => number) => Array.from({ length: width }, (_, j) => (j < r.inputIds.length ? value(j) : 0));
      const batch = { inputIds: tf.tensor2d(rows.map((r) => pad(r, (j) => r.inputIds[j]!)), undefined, 'int32'), attentionMask: tf.tensor2d(rows.map((r) => pad(r, () => 1)), undefined, 'int32') };
      // Read with `await data()`: argMax runs on the active backend, whose tensors may live on a GPU.
      const best = tf.tidy(() => tf.argMax(model.forward(batch, { training: false }).logits, -1));
      predicted.push(...(await best.data()));
      tf.dispose([best, ...Object.values(batch)]);
    }
    const labels = test.map((e) => e.label ?? -1);
    return { name, description: `${source.description ?? ''} · ONNX Runtime ${dtype === 'q8' ? 'int8' : 'fp32'}`, accuracy: accuracy(predicted, labels), f1: f1(predicted, labels), params: source.params, encoderParams: source.encoderParams, msPerExample: await msPerExample(model, test) };
  } finally {
    await model.dispose();
  }
}

/** One line on what int8 costs: accuracy points against fp32, and the speed-up. */
export function int8Line(fp32: ModelResult, int8: ModelResult): { pass: boolean; line: string } {
  const points = 100 * (int8.accuracy - fp32.accuracy);
  const pass = Math.abs(points) <= 1;
  return { pass, line: `${pass ? '✔' : '✘'} ONNX int8 student: accuracy ${points >= 0 ? '+' : ''}${points.toFixed(2)} points vs fp32 (target within 1), ${(fp32.msPerExample / int8.msPerExample).toFixed(2)}× fp32's speed (${fmtPct(int8.accuracy)} accuracy)` };
}
