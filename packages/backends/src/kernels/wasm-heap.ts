/**
 * Low-level access to the tfjs wasm backend's heap, shared by the kernel fixes.
 * The backend keeps every tensor as one contiguous block of its wasm heap, named by an integer id that
 * the C++ kernels look up. Registering an extra id over part of a block gives a zero-copy view that a
 * C++ kernel can read or write; disposing that id drops the name (and any XNNPACK operator cached on
 * it) but never frees memory, which stays owned by the viewed tensor.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const F32_BYTES = 4;

/** The C++ id and heap byte offset of a tensor's data. */
export function heapInfo(backend: BackendWasm, t: tf.TensorInfo): { id: number; offset: number } {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error(`wasm heap: tensor ${t.shape.join('x')} is not on the wasm backend`);
  return { id: data.id, offset: data.memoryOffset };
}

/** Name `size` float32s starting `start` floats into a tensor's block; pair with `disposeView`. */
export function registerView(backend: BackendWasm, base: { offset: number }, start: number, size: number): number {
  // dataIdNextNumber is private in the typings, but it is the only allocator of ids the C++ side accepts.
  const ids = backend as unknown as { dataIdNextNumber: number };
  const id = ids.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, base.offset + start * F32_BYTES);
  return id;
}

export function disposeView(backend: BackendWasm, id: number): void {
  backend.wasm.tfjs.disposeData(id);
}

/** Int32 shape bytes, the form the C++ kernels take shapes in. */
export function shapeBytes(shape: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** Release a kernel-internal intermediate (refcounted like any tensor data). */
export function disposeInfo(backend: BackendWasm, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId);
}
