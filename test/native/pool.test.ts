/**
 * The native backend recycles a disposed kernel output's buffer (packages/native/src/pool.ts),
 * and never one that something else can still see: an array handed out by dataSync/data, or a
 * buffer another tensor views (the cpu Slice kernel's subarray).
 */
import * as tf from '@tensorflow/tfjs';
import { registerNativeBackend } from '@distillery/native';
import { beforeAll, describe, expect, it } from 'vitest';

const registration = registerNativeBackend();

const ROWS = 64;
const COLS = 1024; // 256 KiB a tensor: above the pool's small-buffer floor
const input = (seed: number) => tf.tensor2d(Float32Array.from({ length: ROWS * COLS }, (_, i) => Math.sin(i * 0.001 + seed)), [ROWS, COLS]);
/** The backend's own array for `t`, looked up without a read (a read would mark it escaped). */
const storage = (t: tf.Tensor) => (tf.backend() as unknown as { data: tf.DataStorage<{ values: Float32Array }> }).data.get(t.dataId).values;

describe.skipIf(!registration.ok)('native buffer pool', () => {
  beforeAll(async () => {
    await tf.setBackend('native');
  });

  it('a disposed output is the next same-size output, with that kernel’s values', () => {
    const [x1, x2] = [input(1), input(2)];
    const first = tf.exp(x1);
    const buffer = storage(first);
    first.dispose();
    const second = tf.exp(x2);
    expect(storage(second)).toBe(buffer);
    const want = Float32Array.from(x2.dataSync(), Math.exp);
    const got = second.dataSync();
    for (let i = 0; i < want.length; i += 997) expect(got[i]).toBeCloseTo(want[i]!, 5);
    tf.dispose([x1, x2, second]);
  });

  it('an array handed out by dataSync keeps its values after its tensor is disposed', () => {
    const [x1, x2] = [input(3), input(4)];
    const read = tf.exp(x1);
    const values = read.dataSync();
    const copy = Float32Array.from(values);
    read.dispose();
    const next = tf.exp(x2);
    expect(storage(next)).not.toBe(values);
    expect(values).toEqual(copy);
    tf.dispose([x1, x2, next]);
  });

  it('a buffer another tensor views is not reused while that view lives', () => {
    const [x1, x2] = [input(5), input(6)];
    const source = tf.exp(x1);
    const head = tf.slice(source, [0, 0], [ROWS / 2, COLS]);
    // The premise: the cpu Slice kernel returns a view into the source's buffer.
    expect(storage(head).buffer).toBe(storage(source).buffer);
    const want = Float32Array.from(storage(head));
    source.dispose();
    const next = tf.exp(x2);
    expect(storage(next).buffer).not.toBe(storage(head).buffer);
    expect(head.dataSync()).toEqual(want);
    tf.dispose([x1, x2, head, next]);
  });
});
