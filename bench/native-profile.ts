/**
 * Where a BERT training step spends its time, per kernel (tf.profile): the evidence for which
 * kernels @distillery/native moves to C. One fwd+bwd+AdamW step (the trainer's AdamW) of a BertForSequenceClassification
 * at batch 16 × seq 128, vocab 30522, after one warm-up step.
 *
 *   pnpm --filter @distillery/bench exec tsx --conditions=distillery-source native-profile.ts [backend] [layers] [hidden] [heads]
 *   (backend: native | cpu | wasm, default native; default 2 layers, 256 hidden, 4 heads)
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { AutoModelForSequenceClassification, createConfig } from '@distillery/models';
import { AdamW, initBackend, type BackendName } from '@distillery/trainer';

const [backend = 'native', layers = '2', hidden = '256', heads = '4'] = process.argv.slice(2);
const [B, S, V] = [16, 128, 30522];
await initBackend({ backend: backend as BackendName });

const H = Number(hidden);
const config = createConfig('bert', { numHiddenLayers: Number(layers), hiddenSize: H, numAttentionHeads: Number(heads), intermediateSize: 4 * H, vocabSize: V, numLabels: 2 });
const model = AutoModelForSequenceClassification.fromConfig(config, 1);
const inputIds = tf.randomUniform([B, S], 0, V, 'int32', 1) as tf.Tensor2D;
const labels = tf.randomUniform([B], 0, 2, 'int32', 2) as tf.Tensor1D;
const params = model.namedParameters();
const optimizer = new AdamW({ weightDecay: 0.01 });
const step = () => tf.tidy(() => {
  const { grads } = tf.variableGrads(() => model.forward({ inputIds, labels }, { training: true }).loss!, [...params.values()]);
  optimizer.step(params, new Map([...params].map(([name, p]) => [name, grads[p.name]!])), 1e-4);
});

step(); // warm-up: Adam slots, first-use allocations
const t0 = performance.now();
step();
const stepMs = performance.now() - t0;
const profile = await tf.profile(step);
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of profile.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls += 1;
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
console.log(`${backend}: BERT ${layers}L/${H}H/${heads} fwd+bwd+AdamW, batch ${B}×${S}: step ${stepMs.toFixed(0)} ms (kernels ${total.toFixed(0)} ms, ${profile.kernels.length} calls, ${tf.memory().numTensors} tensors live)`);
for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20)) {
  console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(9)} ms ${((100 * e.ms) / total).toFixed(1).padStart(5)}%  ${String(e.calls).padStart(4)} calls`);
}
