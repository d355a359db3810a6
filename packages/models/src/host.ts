/**
 * Host-side reads of the small integer tensors that checks and position ids need (ids, masks,
 * labels). A tensor made from a JS array keeps its values on the host until a kernel first uses
 * it; on a GPU backend they then live on the device, where a synchronous read throws in Node
 * (tfjs-backend-webgpu reads through OffscreenCanvas) and stalls the GPU pipeline in a browser.
 * Tensor data is immutable, so the first read is kept per data buffer (`dataId`, which reshapes
 * share): a teacher and a student forward on the same batch read it once, before the upload.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryModelsError } from './errors.js';

const copies = new WeakMap<object, tf.TypedArray>();

/** Backends whose tensors can live on a device (so a synchronous read is a GPU round trip). */
const DEVICE_BACKENDS = new Set(['webgpu', 'webgl']);

interface DeviceTensorMap {
  get(dataId: object): { values?: unknown } | undefined;
}

/** Whether `t`'s values are still on the host, i.e. `dataSync()` would not read the device. */
export function onHost(t: tf.Tensor): boolean {
  if (!DEVICE_BACKENDS.has(tf.getBackend())) return true;
  // Both tfjs GPU backends keep not-yet-uploaded values in `values` of their data map (webgpu: tensorMap, webgl: texData).
  const b = tf.backend() as unknown as { tensorMap?: DeviceTensorMap; texData?: DeviceTensorMap };
  return (b.tensorMap ?? b.texData)?.get(t.dataId)?.values != null;
}

/**
 * The values of `t` read on the host without touching the device. `field` names the input in
 * the error raised when `t` was computed on the GPU (its values exist only there).
 */
export function hostValues(t: tf.Tensor, field: string): tf.TypedArray {
  let values = copies.get(t.dataId);
  if (values === undefined) {
    if (!onHost(t)) {
      throw new DistilleryModelsError('INPUT_ON_DEVICE', `${field} was computed on the ${tf.getBackend()} device, and checking it would need a synchronous GPU read; build it from host values (tf.tensor(array, shape, dtype), as the collators do) or rebuild it from \`await t.data()\`.`);
    }
    values = t.dataSync() as tf.TypedArray;
    copies.set(t.dataId, values);
  }
  return values;
}
