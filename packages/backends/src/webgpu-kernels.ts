/**
 * Kernel fixes for tfjs-backend-webgpu, installed by `initBackend` when it picks webgpu:
 * - `AddN`: the stock kernel binds every input as a storage buffer of one shader, so past the
 *   device's `maxStorageBuffersPerShaderStage` (8 by default: 7 inputs and the output) the pipeline
 *   is invalid and the result is garbage — gradient clipping sums one square norm per parameter
 *   (41 for a tiny BERT). Here the inputs are summed in groups that fit, then the partial sums.
 * Gradients are registered per kernel name, not per backend, so they keep working unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './kernels/replace.js';

interface WebGpuBackendLike {
  device: { limits: { maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object): boolean;
}

let stockAddN: tf.KernelConfig | undefined;

function groupedAddN(stock: tf.KernelConfig): tf.KernelConfig {
  return {
    ...stock,
    kernelFunc: (args) => {
      const backend = args.backend as unknown as WebGpuBackendLike;
      const perShader = backend.device.limits.maxStorageBuffersPerShaderStage - 1; // one binding is the output
      let inputs = args.inputs as unknown as tf.TensorInfo[];
      const partials: tf.TensorInfo[] = [];
      while (inputs.length > perShader) {
        const next: tf.TensorInfo[] = [];
        for (let i = 0; i < inputs.length; i += perShader) {
          const group = inputs.slice(i, i + perShader);
          if (group.length === 1) next.push(group[0]!);
          else {
            const sum = stock.kernelFunc({ ...args, inputs: group as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
            partials.push(sum);
            next.push(sum);
          }
        }
        inputs = next;
      }
      const out = stock.kernelFunc({ ...args, inputs: inputs as unknown as tf.NamedTensorInfoMap });
      for (const p of partials) backend.disposeData(p.dataId);
      return out;
    },
  };
}

/** Install the fixes on the (already imported) webgpu backend. Idempotent. */
export function installWebGpuKernelFixes(): void {
  // Stays undefined while the webgpu backend is not loaded: nothing to fix yet.
  stockAddN ??= replaceKernel('webgpu', tf.AddN, groupedAddN);
}
