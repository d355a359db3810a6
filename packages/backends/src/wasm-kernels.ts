/**
 * Kernel fixes for the tfjs wasm backend (issue 2), installed by `initBackend` when it picks wasm:
 * - `BatchMatMul` / `_FusedMatMul`: every transposed or batched product runs on XNNPACK instead of
 *   the stock scalar fallback (see kernels/wasm-matmul.ts);
 * - `UnsortedSegmentSum`: missing on wasm, so tf.gather (embeddings) had no gradient;
 * - `Identity`: shares data instead of copying every tensor a gradient saves (kernels/wasm-identity.ts).
 * Gradients are registered per kernel name, not per backend, so they keep working unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './kernels/replace.js';
import { sharedIdentity } from './kernels/wasm-identity.js';
import { fastBatchMatMul, fastFusedMatMul } from './kernels/wasm-matmul.js';
import { wasmUnsortedSegmentSum } from './kernels/wasm-segment-sum.js';

// Kernels replaced, with what was registered before (undefined: nothing was).
const replaced = new Map<string, tf.KernelConfig | undefined>();

function replace(kernelName: string, make: (stock: tf.KernelConfig) => tf.KernelConfig): void {
  const stock = replaceKernel('wasm', kernelName, make);
  if (stock !== undefined) replaced.set(kernelName, stock); // undefined: wasm backend not loaded, nothing to fix
}

/** Install the fixes on the (already imported) wasm backend. Idempotent. */
export function installWasmKernelFixes(): void {
  if (replaced.size > 0) return;
  replace(tf.BatchMatMul, fastBatchMatMul);
  replace(tf._FusedMatMul, fastFusedMatMul);
  replace(tf.Identity, sharedIdentity);
  if (tf.getKernelsForBackend('wasm').length > 0 && tf.getKernel(tf.UnsortedSegmentSum, 'wasm') === undefined) {
    tf.registerKernel(wasmUnsortedSegmentSum);
    replaced.set(tf.UnsortedSegmentSum, undefined);
  }
}

/** Put the stock kernels back (benchmarks compare before/after with it). */
export function uninstallWasmKernelFixes(): void {
  for (const [kernelName, stock] of replaced) {
    tf.unregisterKernel(kernelName, 'wasm');
    if (stock !== undefined) tf.registerKernel(stock);
  }
  replaced.clear();
}
