import 'reflect-metadata';
import { initBackend } from '@distillery/trainer';
import { DistillRig } from './lib/rig.js';
import { PAIRS } from './lib/spec.js';
await initBackend({ backend: 'native', log: false });
const pair = PAIRS.find((p) => p.name === (process.argv[2] ?? 'base'))!;
const rig = new DistillRig(pair.teacher, pair.student, pair.seq);
rig.distillStep();
for (let i = 0; i < 3; i++) {
  const r0 = process.resourceUsage(); const t0 = performance.now();
  rig.distillStep();
  const r1 = process.resourceUsage();
  console.log(`wall ${(performance.now() - t0).toFixed(0)} user ${((r1.userCPUTime - r0.userCPUTime) / 1000).toFixed(0)} sys ${((r1.systemCPUTime - r0.systemCPUTime) / 1000).toFixed(0)} minflt ${r1.minorPageFault - r0.minorPageFault}`);
}
