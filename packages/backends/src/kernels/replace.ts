/** Swapping one backend's stock kernel for a fixed one (wasm-kernels.ts, webgpu-kernels.ts). */
import * as tf from '@tensorflow/tfjs';

/**
 * Register make(stock) in place of `backendName`'s `kernelName` kernel and return the stock one;
 * undefined, and nothing changed, when that backend has no such kernel (the backend is not loaded).
 */
export function replaceKernel(backendName: string, kernelName: string, make: (stock: tf.KernelConfig) => tf.KernelConfig): tf.KernelConfig | undefined {
  const stock = tf.getKernel(kernelName, backendName);
  if (stock === undefined) return undefined;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel(make(stock));
  return stock;
}
