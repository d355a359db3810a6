/**
 * The install contract: when the addon cannot build (here: no working C compiler), the install
 * script still exits 0 with a note saying what is missing, and the loader reports "not built"
 * instead of throwing, so initBackend simply moves on to wasm.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const PACKAGE = fileURLToPath(new URL('../../packages/native/', import.meta.url));
const copy = mkdtempSync(join(tmpdir(), 'distillery-native-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

it('a failed build never fails the install, and the backend is then not offered', async () => {
  for (const entry of ['package.json', 'binding.gyp', 'scripts', 'src']) cpSync(join(PACKAGE, entry), join(copy, entry), { recursive: true });
  // Its dependencies (node-gyp-build, the loader) as installed; no build/ and no prebuilds/ come along.
  symlinkSync(join(PACKAGE, 'node_modules'), join(copy, 'node_modules'));
  const r = spawnSync(process.execPath, ['scripts/install.mjs'], { cwd: copy, env: { ...process.env, CC: '/bin/false', CXX: '/bin/false' }, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expect(r.stderr).toContain('addon not built, the "native" backend will not be offered');
  expect(r.stderr).toContain('libopenblas-dev');
  expect(existsSync(join(copy, 'build/Release/distillery_native.node'))).toBe(false);

  const { loadAddon } = (await import(join(copy, 'src/addon.ts'))) as typeof import('@distillery/native');
  const load = loadAddon();
  expect(load.ok).toBe(false);
  expect(!load.ok && load.why).toMatch(/addon not built/);
});
