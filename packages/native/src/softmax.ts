/** Softmax over the last axis (the only axis the tfjs op allows) in one threaded pass. */
import * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from './addon.js';
import { f32, outputF32, type NativeKernel, type NativeKernelArgs } from './kernel-util.js';

function softmax(addon: NativeAddon, { inputs, backend, attrs }: NativeKernelArgs): tf.TensorInfo | undefined {
  const logits = inputs.logits!;
  const xv = f32(backend, logits);
  const { dim } = attrs as unknown as tf.SoftmaxAttrs;
  const rank = logits.shape.length;
  if (!xv || rank === 0 || (dim !== -1 && dim !== rank - 1)) return undefined;
  const n = logits.shape[rank - 1]!;
  const out = outputF32(backend, xv.length);
  if (xv.length > 0) addon.softmax(xv, out, n);
  return backend.makeTensorInfo(logits.shape, 'float32', out);
}

export const softmaxKernels: NativeKernel[] = [{ kernelName: tf.Softmax, run: softmax }];
