/**
 * Fast matMul on the tfjs wasm backend (`BatchMatMul` and `_FusedMatMul`).
 *
 * The stock C++ kernel reaches XNNPACK only for an untransposed, unbatched product [1,M,K]·[1,K,N];
 * everything else falls back to a scalar triple loop 4-13× slower (bench/kernels.ts): every matMul gradient
 * (transposed operands), attention's batched products, even [B,S,H]·[H,O]. That loop also adds a
 * fused bias wrongly (row 0's bias index is clamped for the other rows). This wrapper turns every
 * call into XNNPACK calls:
 *  1. a transposed operand is materialised with the Transpose kernel (O(size) copy vs O(MKN) flops);
 *  2. a shared right operand (batch 1) folds the left batch into rows: one [1, B·M, K]·[1, K, N] call;
 *  3. otherwise each output batch runs its own call on zero-copy views of the operands and output.
 * XNNPACK packs the right operand into an operator cached on its C++ id. Every call here names the
 * operands through fresh view ids disposed right after, so no operator outlives its call and none is
 * reused for a reshaped tensor with the same id (the stock cache key ignores shape).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { disposeInfo, disposeView, heapInfo, registerView, shapeBytes } from './wasm-heap.js';

/** Must match `FusableActivation` in tfjs-backend-wasm's cc/fusable_activations.h. */
const ACTIVATIONS: Readonly<Record<string, number>> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 4, sigmoid: 5, elu: 6 };

type CFusedMatMul = (
  aId: number, aShape: Uint8Array, aRank: number,
  bId: number, bShape: Uint8Array, bRank: number,
  transposeA: number, transposeB: number,
  activation: number, biasId: number, preluId: number, leakyreluAlpha: number, outId: number,
) => void;

// One C binding per wasm module instance (a re-initialised backend gets a new module).
const bindings = new WeakMap<object, CFusedMatMul>();
function cFusedMatMul(backend: BackendWasm): CFusedMatMul {
  let fn = bindings.get(backend.wasm);
  if (fn === undefined) {
    const args = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number', 'number', 'number', 'number', 'number'];
    fn = (backend.wasm as unknown as { cwrap(name: string, ret: null, args: string[]): CFusedMatMul }).cwrap(tf._FusedMatMul, null, args);
    bindings.set(backend.wasm, fn);
  }
  return fn;
}

interface Epilogue {
  bias?: tf.TensorInfo; // [N]
  activation: number;
  leakyreluAlpha: number;
}

/** Flat batch index into an operand for every output batch, under numpy broadcasting. */
function broadcastIndex(operandBatch: readonly number[], outBatch: readonly number[]): number[] {
  const dims = [...new Array<number>(outBatch.length - operandBatch.length).fill(1), ...operandBatch];
  const strides = new Array<number>(dims.length);
  for (let d = dims.length - 1, s = 1; d >= 0; d--) {
    strides[d] = dims[d] === 1 ? 0 : s;
    s *= dims[d]!;
  }
  const index: number[] = [];
  for (let i = 0; i < tf.util.sizeFromShape([...outBatch]); i++) {
    let rest = i;
    let flat = 0;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      flat += (rest % outBatch[d]!) * strides[d]!;
      rest = Math.floor(rest / outBatch[d]!);
    }
    index.push(flat);
  }
  return index;
}

/** a [..., M, K] · b [..., K, N] → [...batch, M, N], untransposed float32, through XNNPACK only. */
function xnnMatMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, epilogue: Epilogue): tf.TensorInfo {
  const m = a.shape[a.shape.length - 2]!;
  const k = a.shape[a.shape.length - 1]!;
  const n = b.shape[b.shape.length - 1]!;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const out = backend.makeOutput([...outBatch, m, n], 'float32');

  // Shared weights: the whole left operand is one tall matrix. Else one call per output batch.
  const fold = tf.util.sizeFromShape(bBatch) === 1;
  const rows = fold ? tf.util.sizeFromShape(aBatch) * m : m;
  const aIndex = fold ? [0] : broadcastIndex(aBatch, outBatch);
  const bIndex = fold ? [0] : broadcastIndex(bBatch, outBatch);

  const call = cFusedMatMul(backend);
  const [aHeap, bHeap, outHeap] = [heapInfo(backend, a), heapInfo(backend, b), heapInfo(backend, out)];
  const aShape = shapeBytes([1, rows, k]);
  const bShape = shapeBytes([1, k, n]);
  for (let i = 0; i < aIndex.length; i++) {
    const views = [
      registerView(backend, aHeap, aIndex[i]! * rows * k, rows * k),
      registerView(backend, bHeap, bIndex[i]! * k * n, k * n),
      epilogue.bias ? registerView(backend, heapInfo(backend, epilogue.bias), 0, n) : 0,
      registerView(backend, outHeap, i * rows * n, rows * n),
    ] as const;
    call(views[0], aShape, 3, views[1], bShape, 3, 0, 0, epilogue.activation, views[2], 0, epilogue.leakyreluAlpha, views[3]);
    for (const id of views) if (id !== 0) disposeView(backend, id);
  }
  return out;
}

/** Swap the last two axes into a fresh tensor with the backend's own Transpose kernel. */
function materialiseTranspose(backend: BackendWasm, x: tf.TensorInfo): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, perm.length - 1, perm.length - 2);
  return tf.getKernel(tf.Transpose, 'wasm').kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

/** Materialise transposes, multiply, and release the temporaries. */
function untransposedMatMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean, epilogue: Epilogue): tf.TensorInfo {
  const a2 = transposeA ? materialiseTranspose(backend, a) : a;
  const b2 = transposeB ? materialiseTranspose(backend, b) : b;
  const out = xnnMatMul(backend, a2, b2, epilogue);
  if (a2 !== a) disposeInfo(backend, a2);
  if (b2 !== b) disposeInfo(backend, b2);
  return out;
}

/** The cases this module handles; anything else (int dtypes, empty or mismatched shapes) stays with the stock kernel. */
function handles(a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): boolean {
  const inner = (t: tf.TensorInfo, last: boolean) => t.shape[t.shape.length - (last ? 1 : 2)];
  return a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length >= 2 && b.shape.length >= 2
    && tf.util.sizeFromShape(a.shape) > 0 && tf.util.sizeFromShape(b.shape) > 0
    && inner(a, !transposeA) === inner(b, transposeB);
}

export function fastBatchMatMul(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.BatchMatMul,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as unknown as tf.BatchMatMulInputs & Record<'a' | 'b', tf.TensorInfo>;
      const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
      if (!handles(a, b, transposeA, transposeB)) return stock.kernelFunc(args);
      return untransposedMatMul(args.backend as BackendWasm, a, b, transposeA, transposeB, { activation: 0, leakyreluAlpha: 0 });
    },
  };
}

export function fastFusedMatMul(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf._FusedMatMul,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo | null; preluActivationWeights?: tf.TensorInfo | null };
      const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as tf._FusedMatMulAttrs;
      const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
      const code = ACTIVATIONS[activation];
      // Prelu and broadcast (non-[N]) biases stay with the stock kernel: XNNPACK takes one bias per column.
      const simpleBias = bias == null || (bias.shape.length === 1 && bias.shape[0] === n && bias.dtype === 'float32');
      if (code === undefined || preluActivationWeights != null || !simpleBias || !handles(a, b, transposeA, transposeB)) {
        return stock.kernelFunc(args);
      }
      return untransposedMatMul(args.backend as BackendWasm, a, b, transposeA, transposeB, { bias: bias ?? undefined, activation: code, leakyreluAlpha: leakyreluAlpha ?? 0 });
    },
  };
}
