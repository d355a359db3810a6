export { DistilleryBackendsError } from './errors.js';
export type { BackendsErrorCode } from './errors.js';
export { initBackend, currentBackend, BACKEND_NAMES } from './backend.js';
export type { BackendName, BackendInfo, InitBackendOptions } from './backend.js';
export { installWasmKernelFixes, uninstallWasmKernelFixes } from './wasm-kernels.js';
export { describeAdapter, installNodeWebGpu, probeWebGpuAdapter } from './webgpu.js';
export type { GpuAdapterSummary } from './webgpu.js';
export { installWebGpuKernelFixes } from './webgpu-kernels.js';
