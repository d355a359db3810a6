// The webgpu backend on SwiftShader: never picked automatically on a software adapter, forced by name,
// the start-up line names the adapter, and a matMul on it agrees with the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '@distillery/backends';
import { BertForSequenceClassification, DistilleryModelsError, createConfig, onHost } from '@distillery/models';
import { TeacherCache } from '@distillery/plugins';
import { exportOnnx, OnnxTeacher } from '@distillery/onnx';
import { tempDir } from '../helpers/tmp.js';
import { SWIFTSHADER_MISSING, useSwiftShader } from '../helpers/swiftshader.js';

const available = useSwiftShader();
const tmp = tempDir('distillery-webgpu-');

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

  it('ids read on the host once per batch; ids that exist only on the GPU are a typed error, not a crash', async () => {
    await tf.setBackend('webgpu');
    const model = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 20, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8 }));
    const inputIds = tf.tensor2d([[2, 5, 7, 3], [2, 9, 3, 0]], undefined, 'int32');
    const attentionMask = tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], undefined, 'int32');
    // Twice on one batch (as teacher then student): the second forward finds the ids already uploaded.
    const first = tf.tidy(() => model.forward({ inputIds, attentionMask }).logits);
    const second = tf.tidy(() => model.forward({ inputIds, attentionMask }).logits);
    expect([...(await second.data())]).toEqual([...(await first.data())]);
    const onGpu = tf.add(inputIds, tf.scalar(0, 'int32')) as tf.Tensor2D;
    const e = await Promise.resolve().then(() => model.forward({ inputIds: onGpu, attentionMask })).then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(DistilleryModelsError);
    expect(e).toMatchObject({ code: 'INPUT_ON_DEVICE', message: expect.stringMatching(/^inputs\.inputIds was computed on the webgpu device/) });
    tf.dispose([first, second, onGpu, inputIds, attentionMask]);
    model.dispose();
  });

  it('TeacherCache stores GPU outputs through an asynchronous read; they come back as hits after flush()', async () => {
    await tf.setBackend('webgpu');
    const cache = new TeacherCache();
    const ids = tf.tensor2d([[2, 5, 3], [2, 6, 3]], undefined, 'int32');
    const keys = TeacherCache.rowKeys(0, ids);
    // tfjs-webgpu computes small ops on host inputs on the CPU ("CPU forwarding"); these must live on the device.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    const logits = tf.mul(tf.tensor2d([[1, 2], [3, 4]]), 2);
    expect(onHost(logits)).toBe(false);
    cache.store(keys, { logits });
    logits.dispose(); // the caller's dispose must not lose the pending write
    await cache.flush();
    const hit = cache.lookup(keys, { logits: true });
    expect(hit).toBeDefined();
    expect([...(await hit!.logits.data())]).toEqual([2, 4, 6, 8]);
    // A deferred write that fails (over maxBytes) is thrown by flush, not lost.
    const small = new TeacherCache({ maxBytes: 8 });
    const again = tf.mul(tf.tensor2d([[1, 2], [3, 4]]), 2);
    small.store(keys, { logits: again });
    await expect(small.flush()).rejects.toMatchObject({ code: 'CACHE_LIMIT' });
    tf.dispose([hit!.logits, ids, again]);
    tf.env().set('WEBGPU_CPU_FORWARD', true);
  });

  it('ONNX export of weights that live on the GPU, and an ONNX teacher asked on webgpu: no synchronous device read', async () => {
    await tf.setBackend('webgpu');
    const model = BertForSequenceClassification.fromConfig(createConfig('bert', { vocabSize: 20, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 8, numLabels: 3 }), 4);
    // As after a training step: every weight rewritten by a kernel, so its values exist only on the device.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    for (const p of model.namedParameters().values()) p.assign(tf.tidy(() => tf.mul(p, 1.5)));
    tf.env().set('WEBGPU_CPU_FORWARD', true);
    expect([...model.namedParameters().values()].some(onHost)).toBe(false);
    const dir = `${tmp}/onnx`;
    await exportOnnx(model, dir);
    const teacher = await OnnxTeacher.fromPretrained(dir);
    try {
      // Host-built ids, as a collator makes them: the teacher reads them on the host, the TF.js model on the device.
      const inputIds = tf.tensor2d([[2, 5, 7, 3], [2, 9, 3, 0]], undefined, 'int32');
      const attentionMask = tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], undefined, 'int32');
      const viaOnnx = teacher.forward({ inputIds, attentionMask }, { training: false }).logits;
      const viaTfjs = tf.tidy(() => model.forward({ inputIds, attentionMask }).logits);
      const [a, b] = [await viaOnnx.data(), await viaTfjs.data()];
      expect(a.length).toBe(6);
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!))));
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([inputIds, attentionMask, viaOnnx, viaTfjs]);
    } finally {
      await teacher.dispose();
      model.dispose();
    }
  });
});
