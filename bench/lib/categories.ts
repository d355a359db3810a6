/**
 * The bench's time profile: tf.profile of one step, each kernel's time filed under a category
 * by kernel name (and, for matmuls, by whether it batches over heads).
 */
import * as tf from '@tensorflow/tfjs';
import { CATEGORIES, type Category } from './spec.js';

const MATMULS = new Set(['_FusedMatMul', 'BatchMatMul', 'MatMul']);
const BY_NAME: Record<string, Category> = {
  Softmax: 'softmax', LogSoftmax: 'softmax', Erf: 'GELU', DistilleryFusedAdamW: 'optimizer',
  // @distillery/native's fused kernels (absent on other backends, where their composition shows up as elementwise work).
  DistilleryLayerNorm: 'LayerNorm', DistilleryLayerNormGrad: 'LayerNorm',
  DistilleryBiasGelu: 'GELU', DistilleryGeluGrad: 'GELU', DistillerySoftmaxGrad: 'softmax', DistilleryAttentionMatMul: 'attention',
};
const ELEMENTWISE = new Set([
  'Add', 'AddN', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum', 'Pow', 'Exp', 'Neg', 'Sqrt', 'Rsqrt',
  'Square', 'Tanh', 'Sigmoid', 'Log', 'Reciprocal', 'Abs', 'Relu', 'Cast', 'Select', 'ZerosLike', 'OnesLike', 'Fill',
  'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'Identity',
]);

export function categoryOf(kernelName: string, inputShapes: ReadonlyArray<readonly number[] | undefined>): Category {
  if (MATMULS.has(kernelName)) {
    // Attention's products batch over (batch, heads); every Linear is one 2-D product (batch dims of size 1 at most).
    const batched = inputShapes.slice(0, 2).some((s) => s !== undefined && s.slice(0, -2).reduce((p, d) => p * d, 1) > 1);
    return batched ? 'attention' : 'GEMM';
  }
  return BY_NAME[kernelName] ?? (ELEMENTWISE.has(kernelName) ? 'elementwise' : 'other');
}

/** ms per category of the kernels `run` executes (scopes tf.profile lists beside kernels are skipped). */
export async function profileCategories(run: () => Promise<unknown>): Promise<Record<Category, number>> {
  const info = await tf.profile(async () => void (await run()));
  const out = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const k of info.kernels) {
    if (tf.getKernel(k.name, tf.getBackend()) === undefined) continue;
    out[categoryOf(k.name, k.inputShapes)] += Number(k.kernelTimeMs) || 0;
  }
  return out;
}
