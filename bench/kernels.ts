/**
 * matMul micro-benchmark (issue 2): GFLOP/s for the four transpose combinations on the wasm backend
 * with the stock kernels ("before") and with installWasmKernelFixes ("after"), cpu for reference.
 *
 *   pnpm bench:kernels            # all shapes
 *   pnpm bench:kernels --no-cpu   # skip the (slow) cpu column
 *
 * Each cell: one warm-up call, then calls until ~1 s of process CPU time has passed (at least one);
 * GFLOP/s is per CPU-second, so other work on a shared machine does not skew it. Not a test.
 */
import * as tf from '@tensorflow/tfjs';
import { cpus } from 'node:os';
import { initBackend, installWasmKernelFixes, uninstallWasmKernelFixes } from '@distillery/backends';

interface Shape {
  label: string;
  a: number[]; // logical [..., M, K]
  b: number[]; // logical [..., K, N]
}

const SHAPES: Shape[] = [
  { label: '[2048×768]·[768×768]', a: [2048, 768], b: [768, 768] },
  { label: '[64×128×64]·[64×64×128]', a: [64, 128, 64], b: [64, 64, 128] },
  { label: '[16×128×768]·[768×768]', a: [16, 128, 768], b: [768, 768] }, // activations × weights
];
const TRANSPOSES = [[false, false], [false, true], [true, false], [true, true]] as const;

function flops({ a, b }: Shape): number {
  const batch = Math.max(tf.util.sizeFromShape(a.slice(0, -2)), tf.util.sizeFromShape(b.slice(0, -2)));
  return 2 * batch * a.at(-2)! * a.at(-1)! * b.at(-1)!;
}

/** Store an operand transposed when the product asks for it, so every combination computes the same product. */
function operand(shape: number[], transposed: boolean): tf.Tensor {
  const stored = transposed ? [...shape.slice(0, -2), shape.at(-1)!, shape.at(-2)!] : shape;
  return tf.randomNormal(stored, 0, 1, 'float32', 1);
}

function gflops(shape: Shape, transposeA: boolean, transposeB: boolean): number {
  const a = operand(shape.a, transposeA);
  const b = operand(shape.b, transposeB);
  // No tf.tidy around dataSync(): tidy would walk the returned typed array element by element.
  const run = () => {
    const out = tf.matMul(a, b, transposeA, transposeB);
    out.dataSync();
    out.dispose();
  };
  run();
  // Process CPU time, not wall time: the machine is shared, and every kernel here is single-threaded.
  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  let calls = 0;
  const start = process.cpuUsage();
  do {
    run();
    calls++;
  } while (cpuSeconds(start) < 1);
  const seconds = cpuSeconds(start);
  tf.dispose([a, b]);
  return (flops(shape) * calls) / seconds / 1e9;
}

const columns: Array<{ name: string; setup: () => Promise<void> }> = [
  { name: 'wasm stock', setup: async () => { await initBackend({ backend: 'wasm' }); uninstallWasmKernelFixes(); } },
  { name: 'wasm fixed', setup: async () => { await initBackend({ backend: 'wasm', log: false }); installWasmKernelFixes(); } },
];
if (!process.argv.includes('--no-cpu')) columns.push({ name: 'cpu', setup: async () => { await initBackend({ backend: 'cpu', log: false }); } });

// results[shape][combo][column]
const results = SHAPES.map(() => TRANSPOSES.map(() => [] as number[]));
for (const column of columns) {
  await column.setup();
  SHAPES.forEach((shape, s) => TRANSPOSES.forEach(([ta, tb], t) => results[s]![t]!.push(gflops(shape, ta, tb))));
}
installWasmKernelFixes();

const header = ['shape', 'transposeA', 'transposeB', ...columns.map((c) => c.name), 'fixed/stock'];
const rows = SHAPES.flatMap((shape, s) =>
  TRANSPOSES.map(([ta, tb], t) => {
    const r = results[s]![t]!;
    return [shape.label, String(ta), String(tb), ...r.map((v) => v.toFixed(2)), `${(r[1]! / r[0]!).toFixed(1)}×`];
  }),
);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`\nmatMul GFLOP/s per CPU-second on ${cpus()[0]?.model ?? 'unknown cpu'} (${cpus().length} cores), Node ${process.version}, tfjs ${tf.version.tfjs}`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of rows) console.log(line(row));
