export { initBackend, currentBackend } from './backend.js';
export type { BackendName, BackendInfo, InitBackendOptions } from './backend.js';
export { installWasmKernelFixes, uninstallWasmKernelFixes } from './wasm-kernels.js';
export { DistilleryTrainerError } from './errors.js';
export type { TrainerErrorCode } from './errors.js';
