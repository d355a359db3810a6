/** Kernel fixes for the tfjs wasm backend (filled in by the kernels work; see issue 2). */
export function installWasmKernelFixes(): void {}
