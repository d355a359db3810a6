// The webgpu backend on SwiftShader: never picked automatically on a software adapter, forced by name,
// the start-up line names the adapter, and a matMul on it agrees with the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '@distillery/backends';
import { SWIFTSHADER_MISSING, useSwiftShader } from '../helpers/swiftshader.js';

const available = useSwiftShader();

describe.skipIf(!available)(available ? 'webgpu on SwiftShader' : `webgpu on SwiftShader — ${SWIFTSHADER_MISSING}`, () => {
  // First: the automatic choice is made once per process.
  it('the automatic choice passes over a software adapter and says so', async () => {
    const lines: string[] = [];
    const info = await initBackend({ log: (line) => lines.push(line) });
    expect(info.backend).not.toBe('webgpu');
    expect(lines[0]).toMatch(/webgpu adapter google\/swiftshader \(SwiftShader driver [\d.]+\), software emulation is not a GPU/);
  });

  it('DISTILLERY_BACKEND=webgpu uses it anyway, names the adapter, and computes what cpu computes', async () => {
    process.env.DISTILLERY_BACKEND = 'webgpu';
    const lines: string[] = [];
    try {
      const info = await initBackend({ log: (line) => lines.push(line) });
      expect(info.backend).toBe('webgpu');
      expect(info.adapter).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true });
    } finally {
      delete process.env.DISTILLERY_BACKEND;
    }
    expect(tf.getBackend()).toBe('webgpu');
    expect(lines).toEqual([expect.stringMatching(/^\[distillery\] backend=webgpu \(@tensorflow\/tfjs-backend-webgpu on google\/swiftshader \(SwiftShader driver .*\).* requested$/)]);

    const a = tf.randomNormal([96, 80], 0, 1, 'float32', 1);
    const b = tf.randomNormal([80, 64], 0, 1, 'float32', 2);
    const onGpu = await tf.matMul(a, b).data();
    const [ha, hb] = [await a.data(), await b.data()];
    await tf.setBackend('cpu');
    const onCpu = tf.matMul(tf.tensor2d(ha, [96, 80]), tf.tensor2d(hb, [80, 64])).dataSync();
    let worst = 0;
    onCpu.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - onGpu[i]!))));
    expect(worst).toBeLessThan(1e-4);
  });

  it('addN of more inputs than one shader can bind (gradient clipping sums one per parameter) is right', async () => {
    await tf.setBackend('webgpu');
    const parts = Array.from({ length: 41 }, (_, i) => tf.fill([3, 5], i + 1));
    const before = tf.memory().numTensors;
    const sum = tf.addN(parts);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect([...(await sum.data())]).toEqual(new Array(15).fill((41 * 42) / 2));
    tf.dispose([sum, ...parts]);
  });
});
