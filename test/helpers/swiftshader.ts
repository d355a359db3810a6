// WebGPU tests run on SwiftShader, the CPU Vulkan driver Debian's chromium package ships (.ci/run installs
// it and libvulkan1). Dawn reads these variables when it creates its instance, so set them first.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

const ICD = process.env.DISTILLERY_TEST_VK_ICD ?? '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The environment that makes Dawn see SwiftShader, or undefined when Chromium's ICD is not installed. */
export function swiftShaderEnv(): Record<string, string> | undefined {
  return existsSync(ICD) ? { VK_ICD_FILENAMES: ICD, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? tmpdir() } : undefined;
}

/** Put SwiftShader's variables into this process's environment; false (and nothing set) when it is missing. */
export function useSwiftShader(): boolean {
  const env = swiftShaderEnv();
  if (env) Object.assign(process.env, env);
  return env !== undefined;
}

export const SWIFTSHADER_MISSING = `SKIPPED: no SwiftShader Vulkan ICD at ${ICD} (apt-get install -y chromium libvulkan1)`;
