/**
 * Per-kernel profile of one distillation step (tf.profile): where the time goes, by kernel
 * and input shapes, and how many kernels and tensors a step creates. Used to pick the
 * model-level speedups recorded in docs/performance.md.
 *
 *   npx tsx --conditions=distillery-source bench/lib/profile.ts [backend=wasm] [pair=small] [phase=distill|teacher|student] [top=25] [fused=on|off]
 *
 * fused=off unregisters @distillery/native's fused model kernels first, so the models compose
 * those ops from tfjs kernels: an A/B of the fusions on one build, under the same machine load.
 */
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { ATTENTION_MATMUL, FUSED_KERNELS } from '@distillery/native';
import { initBackend } from '@distillery/trainer';
import { DistillRig } from './rig.js';
import { PAIRS, type Backend } from './spec.js';

const [backend = 'wasm', pairName = 'small', phase = 'distill', top = '25', fused = 'on'] = process.argv.slice(2);
const pair = PAIRS.find((p) => p.name === pairName);
if (!pair) throw new Error(`unknown pair ${pairName}; pick one of ${PAIRS.map((p) => p.name).join(', ')}`);
await initBackend({ backend: backend as Backend, log: false });
if (fused === 'off') for (const name of [ATTENTION_MATMUL, ...Object.values(FUSED_KERNELS)]) tf.unregisterKernel(name, tf.getBackend());
const rig = new DistillRig(pair.teacher, pair.student, pair.seq);
const run = { distill: () => rig.distillStep(), teacher: () => rig.teacherForward(), student: () => rig.studentStep() }[phase];
if (!run) throw new Error(`unknown phase ${phase}; pick distill, teacher or student`);
await run(); // warm-up: Adam moments, wasm heap growth

// Process CPU time beside wall time: on a shared machine it is the steadier before/after number.
const walls: number[] = [];
const cpus: number[] = [];
for (let i = 0; i < 3; i++) {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await run();
  walls.push(performance.now() - w0);
  const c = process.cpuUsage(c0);
  cpus.push((c.user + c.system) / 1000);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!.toFixed(0);
console.log(`${backend}/${pair.name} ${phase}: median of 3 — wall ${med(walls)} ms, process CPU ${med(cpus)} ms`);

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const info = await tf.profile(async () => void (await run()));
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);

interface Agg { ms: number; calls: number }
const byKernel = new Map<string, Agg>();
const byShape = new Map<string, Agg>();
const add = (map: Map<string, Agg>, key: string, ms: number) => {
  const a = map.get(key) ?? { ms: 0, calls: 0 };
  a.ms += ms;
  a.calls += 1;
  map.set(key, a);
};
let kernelMs = 0;
// tf.profile also lists op scopes (fusedMatMul__op, customGrad's "forward"...) around the kernels they run; count kernels only.
for (const k of info.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined)) {
  const ms = Number(k.kernelTimeMs) || 0;
  kernelMs += ms;
  add(byKernel, k.name, ms);
  add(byShape, `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',')}]`).join(' ')}`, ms);
}
const print = (title: string, map: Map<string, Agg>) => {
  console.log(`\n${title}`);
  for (const [key, a] of [...map].sort((x, y) => y[1].ms - x[1].ms).slice(0, Number(top))) {
    console.log(`${a.ms.toFixed(1).padStart(9)} ms ${((100 * a.ms) / kernelMs).toFixed(1).padStart(5)}% ${String(a.calls).padStart(5)}×  ${key}`);
  }
};
console.log(`${backend}/${pair.name} ${phase}: wall ${wallMs.toFixed(0)} ms, process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, kernels ${[...byKernel.values()].reduce((n, a) => n + a.calls, 0)} (${kernelMs.toFixed(0)} ms), new tensors ${info.newTensors}, peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB`);
print('by kernel', byKernel);
print('by kernel and input shapes', byShape);
rig.dispose();
