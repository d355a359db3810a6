/**
 * WebGPU in Node through Dawn (the `webgpu` npm package, a prebuilt `dawn.node`), for
 * `@tensorflow/tfjs-backend-webgpu`. On Linux Dawn drives the GPU through Vulkan, so a real GPU
 * needs the vendor's Vulkan driver; SwiftShader (a CPU Vulkan shipped with Chromium) also works
 * and is what CI runs on, but it is an emulation: it is used only when asked for by name.
 */
import { spawnSync } from 'node:child_process';

/** What the adapter says about itself (GPUAdapterInfo), plus whether it is a software rasteriser. */
export interface GpuAdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU emulations (SwiftShader, lavapipe/llvmpipe) and Dawn's fallback adapters. */
  software: boolean;
}

/** The adapter request tfjs-backend-webgpu makes, so the adapter we name is the one it uses. */
const ADAPTER_OPTIONS = { powerPreference: 'high-performance' } as const;

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render/i;

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

function summarise(info: AdapterInfoLike): GpuAdapterSummary {
  const s = { vendor: info.vendor ?? '', architecture: info.architecture ?? '', device: info.device ?? '', description: info.description ?? '' };
  return { ...s, software: info.isFallbackAdapter === true || SOFTWARE.test(Object.values(s).join(' ')) };
}

/** "vendor/architecture (description)", the form the start-up line prints. */
export function describeAdapter(a: GpuAdapterSummary): string {
  const name = [a.vendor, a.architecture].filter((s) => s !== '').join('/') || 'unknown adapter';
  return `${name} (${a.description || a.device || 'no description'})${a.software ? ', software emulation' : ''}`;
}

interface GpuLike {
  requestAdapter(options?: typeof ADAPTER_OPTIONS): Promise<{ info: AdapterInfoLike } | null>;
}

/**
 * Give this process `navigator.gpu` from Dawn (browsers and Deno have their own) and return the
 * adapter it would use, or null when Dawn finds none. Must run before tfjs-backend-webgpu is
 * imported: the backend registers itself only if `navigator.gpu` exists at import time.
 */
export async function installNodeWebGpu(): Promise<GpuAdapterSummary | null> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu === undefined) {
    const { create, globals } = await import('webgpu');
    // tfjs checks `instanceof GPUBuffer` etc., so the WebGPU classes must be globals too.
    Object.assign(globalThis, globals);
    const gpu = create([]) as unknown as GpuLike;
    if (g.navigator === undefined) g.navigator = { gpu };
    else Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter(ADAPTER_OPTIONS);
  return adapter === null ? null : summarise(adapter.info);
}

/**
 * Ask Dawn for its adapter in a child process. Used by the automatic choice: when there is no
 * usable Vulkan device Dawn writes warnings straight to stderr (native code, not console), and a
 * broken driver can crash the process; neither may reach a user who did not ask for WebGPU.
 */
export function probeWebGpuAdapter(timeoutMs = 20_000): { ok: true; adapter: GpuAdapterSummary | null } | { ok: false; why: string } {
  let url: string;
  try {
    url = import.meta.resolve('webgpu');
  } catch {
    return { ok: false, why: 'the webgpu package is not installed' };
  }
  const script = `const { create } = await import(${JSON.stringify(url)});
const a = await create([]).requestAdapter(${JSON.stringify(ADAPTER_OPTIONS)});
const i = a?.info;
process.stdout.write(JSON.stringify(i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } : null));
process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) return { ok: false, why: r.error ? `adapter probe failed (${r.error.message})` : `adapter probe exited with ${r.status ?? r.signal}` };
  try {
    const info = JSON.parse(r.stdout) as AdapterInfoLike | null;
    return { ok: true, adapter: info === null ? null : summarise(info) };
  } catch {
    return { ok: false, why: 'adapter probe printed no adapter' };
  }
}
