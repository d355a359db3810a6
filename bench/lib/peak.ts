/**
 * The machine's sgemm peak, measured once per bench run: OpenBLAS (through the native backend's
 * BatchMatMul, all cores) on square products large enough that packing and threading costs
 * vanish; the best of a few repetitions, as a peak is a best case.
 */
import * as tf from '@tensorflow/tfjs';

const SIZES = [2048, 3072];
const REPS = 5;

/** GFLOP/s of the best square sgemm on `backend` (which becomes the active one). */
export async function measureSgemmPeak(backend: string): Promise<{ gflops: number; n: number }> {
  await tf.setBackend(backend);
  let best = { gflops: 0, n: 0 };
  for (const n of SIZES) {
    const [a, b] = [tf.randomNormal([n, n], 0, 1, 'float32', 1), tf.randomNormal([n, n], 0, 1, 'float32', 2)];
    for (let i = 0; i <= REPS; i++) {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      const ms = performance.now() - t0;
      c.dispose();
      const gflops = (2 * n ** 3) / ms / 1e6;
      if (i > 0 && gflops > best.gflops) best = { gflops, n }; // rep 0 warms OpenBLAS's threads and buffers
    }
    tf.dispose([a, b]);
  }
  return best;
}
