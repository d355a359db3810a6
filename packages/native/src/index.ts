export { FUSED_ADAMW, fusedAdamW, type FusedAdamWAttrs } from './adamw.js';
export { BINARY_OPS, UNARY_OPS, loadAddon, type AddonLoad, type NativeAddon } from './addon.js';
export { NATIVE_BACKEND, nativeKernels, registerNativeBackend, type NativeRegistration } from './backend.js';
export { broadcastPlan, type BroadcastPlan } from './elementwise.js';
export { FUSED_KERNELS } from './fused.js';
export { batchOffsets } from './matmul.js';
export { reductionView } from './reduce.js';
export { transposePlan } from './transpose.js';
export type { NativeKernel, NativeKernelArgs } from './kernel-util.js';
