/**
 * matMul throughput per backend: GFLOP/s of [2048×768]·[768×768] (a BERT-base Linear over
 * 16×128 tokens) and the batched [64×128×64]·[64×64×128] (attention scores, 64 = batch·heads),
 * on native (OpenBLAS), cpu (pure JS) and wasm (XNNPACK through the trainer's kernel fixes).
 *
 *   pnpm --filter @distillery/bench exec tsx --conditions=distillery-source native-matmul.ts
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from '@distillery/native';
import { initBackend } from '@distillery/trainer';

const CASES = [
  { name: '[2048×768]·[768×768]', a: [2048, 768], b: [768, 768] },
  { name: '[64×128×64]·[64×64×128]', a: [64, 128, 64], b: [64, 64, 128] },
] as const;

/** Median ms of `run` over repeats that fill ~1 s (at least 1, at most 20), after one warm-up. */
async function time(run: () => tf.Tensor): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const y = run();
    await y.data(); // the cpu-side backends compute eagerly, but read back to be sure
    y.dispose();
    return performance.now() - t0;
  };
  const first = await once();
  const times = [await once()];
  const repeats = Math.min(20, Math.floor(1000 / Math.max(first, 1)));
  for (let i = 1; i < repeats; i++) times.push(await once());
  return times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
}

async function available(): Promise<string[]> {
  const backends: string[] = [];
  const native = registerNativeBackend();
  if (native.ok) backends.push('native');
  else console.log(`native: skipped — ${native.why}`);
  try {
    await initBackend({ backend: 'wasm', log: false });
    backends.push('wasm');
  } catch (e) {
    console.log(`wasm: skipped — ${(e as Error).message}`);
  }
  return [...backends, 'cpu'];
}

const rows: string[] = [];
for (const backend of await available()) {
  await tf.setBackend(backend);
  for (const c of CASES) {
    const a = tf.randomNormal([...c.a], 0, 1, 'float32', 1);
    const b = tf.randomNormal([...c.b], 0, 1, 'float32', 2);
    const flops = 2 * tf.util.sizeFromShape([...c.a]) * c.b.at(-1)!;
    const ms = await time(() => tf.matMul(a, b));
    rows.push(`${backend.padEnd(7)} ${c.name.padEnd(26)} ${ms.toFixed(2).padStart(9)} ms ${(flops / ms / 1e6).toFixed(1).padStart(8)} GFLOP/s`);
    console.log(rows.at(-1));
    tf.dispose([a, b]);
  }
}
