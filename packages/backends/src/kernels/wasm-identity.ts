/**
 * Zero-copy `Identity` for the tfjs wasm backend. The engine clones (runs Identity on) every tensor a
 * gradient saves for the backward pass; the stock wasm kernel copies the data each time, doubling the
 * memory of saved activations on a heap capped at 4 GiB. Tensors are immutable, so the clone can
 * share the data, as tfjs-cpu and the wasm Reshape kernel already do.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function sharedIdentity(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Identity,
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      if (x.dtype === 'string') return stock.kernelFunc(args); // strings live in JS, not the heap
      (args.backend as BackendWasm).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  };
}
