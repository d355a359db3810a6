// Install step: use the prebuilt addon shipped in prebuilds/ when it loads here, else build it
// with node-gyp. Never fails the install: without a compiler, Node headers or libopenblas-dev the
// 'native' backend is simply not offered. (A package manager that skips install scripts still
// gets the prebuilt addon: the loader finds it at run time.)
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { localNodedir, nodeGyp } from './node-gyp.mjs';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

function prebuiltLoads() {
  try {
    const path = require('node-gyp-build').path(root);
    if (!path.includes('/prebuilds/')) return false;
    require(path);
    return true;
  } catch {
    return false;
  }
}

if (prebuiltLoads()) {
  console.log('@distillery/native: using the prebuilt addon (backend "native" available)');
} else {
  const nodedir = localNodedir();
  const [cmd, ...pre] = nodeGyp();
  const r = spawnSync(cmd, [...pre, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status === 0) {
    console.log('@distillery/native: addon built (backend "native" available)');
  } else {
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n').slice(-12).join('\n');
    console.warn(
      `@distillery/native: addon not built, the "native" backend will not be offered.\n` +
        `  Needs a C compiler, Node headers and OpenBLAS (Debian: apt-get install -y build-essential libopenblas-dev),\n` +
        `  then rerun: npm rebuild @distillery/native (in this repository: pnpm --filter @distillery/native run install)\n${log.replace(/^/gm, '  | ')}`,
    );
  }
}
