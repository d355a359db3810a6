import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '@distillery/trainer';
import { DistillRig } from './lib/rig.js';
import { PAIRS } from './lib/spec.js';
await initBackend({ backend: 'native', log: false });
const stats = new Map<string, { cpu: number; wall: number; n: number; gf: number }>();
for (const cfg of tf.getKernelsForBackend('native')) {
  const f = cfg.kernelFunc;
  tf.unregisterKernel(cfg.kernelName, 'native');
  tf.registerKernel({ ...cfg, kernelFunc: (args: any) => {
    const c0 = process.cpuUsage(); const t0 = performance.now();
    const r = f(args);
    const c = process.cpuUsage(c0); const w = performance.now() - t0;
    let key = cfg.kernelName; let gf = 0;
    if (key === 'BatchMatMul' || key === '_FusedMatMul') {
      const out = (Array.isArray(r) ? r[0] : r) as any; const a = args.inputs.a; const m = out.shape.at(-2);
      const kk = a.shape.at(-1) * a.shape.at(-2) / m; gf = 2 * out.shape.reduce((p: number, d: number) => p * d, 1) * kk / 1e9;
      key += ` [${a.shape}]x[${args.inputs.b.shape}]${args.attrs.transposeA ? ' tA' : ''}${args.attrs.transposeB ? ' tB' : ''}`;
    }
    const s = stats.get(key) ?? { cpu: 0, wall: 0, n: 0, gf: 0 };
    s.cpu += (c.user + c.system) / 1000; s.wall += w; s.n++; s.gf += gf; stats.set(key, s);
    return r;
  } });
}
const pair = PAIRS.find((p) => p.name === (process.argv[2] ?? 'base'))!;
const rig = new DistillRig(pair.teacher, pair.student, pair.seq);
rig.distillStep(); stats.clear();
const c0 = process.cpuUsage(); const t0 = performance.now();
rig.distillStep();
const c = process.cpuUsage(c0);
console.log(`step wall ${(performance.now() - t0).toFixed(0)} cpu ${((c.user + c.system) / 1000).toFixed(0)}`);
let tc = 0, tw = 0;
for (const [k, s] of [...stats].sort((a, b) => b[1].cpu - a[1].cpu)) { tc += s.cpu; tw += s.wall; if (s.cpu > 8) console.log(`${k.padEnd(40)} ×${s.n} cpu ${s.cpu.toFixed(0)} wall ${s.wall.toFixed(0)}${s.gf ? ` ${(s.gf / s.cpu * 1000).toFixed(0)} GF/cpu-s ${(s.gf / s.wall * 1000).toFixed(0)} GF/s` : ''}`); }
console.log(`addon total cpu ${tc.toFixed(0)} wall ${tw.toFixed(0)}`);
