// prepack: prebuildify the N-API addon into prebuilds/<platform>-<arch>/ so the tarball
// carries it (node-gyp-build picks it at run time, no install script needed). A failed prebuild
// only warns: the tarball then builds from source at install, as before.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localNodedir, nodeGyp } from './node-gyp.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (process.argv.includes('--clean')) {
  // postpack: the prebuild belongs in the tarball only; left here it would shadow later source builds.
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}
const prebuildify = createRequire(import.meta.url).resolve('prebuildify/bin.js');
const nodedir = localNodedir();
const [gypCmd, ...gypPre] = nodeGyp();
const env = {
  ...process.env,
  ...(nodedir && { npm_config_nodedir: nodedir }),
  // prebuildify appends its arguments to this command line, run through the shell.
  PREBUILD_NODE_GYP: [gypCmd, ...gypPre].map((p) => JSON.stringify(p)).join(' '),
  PREBUILD_SHELL: '/bin/sh',
};
// Built in a copy: node-gyp rebuild wipes build/, which this checkout's own runs may be loading.
const work = mkdtempSync(join(tmpdir(), 'distillery-prebuild-'));
for (const entry of ['package.json', 'binding.gyp', 'src']) cpSync(join(root, entry), join(work, entry), { recursive: true });
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
const r = spawnSync(process.execPath, [prebuildify, '--napi', '--strip', `--out=${root}`], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
rmSync(work, { recursive: true, force: true });
if (r.status === 0) console.log(`@distillery/native: prebuilt addon for ${process.platform}-${process.arch} in prebuilds/`);
else console.warn(`@distillery/native: no prebuilt addon packed (${`${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' | ')}); installs will build from source.`);
