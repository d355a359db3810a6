// Build the addon with node-gyp when the package installs. Never fails the install: without a
// compiler, Node headers or libopenblas-dev the 'native' backend is simply not offered.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

function nodeGyp() {
  // npm and pnpm put their bundled node-gyp on PATH for lifecycle scripts; npm also names it here.
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    const npmDir = dirname(createRequire(import.meta.url).resolve('npm/package.json', { paths: [join(dirname(process.execPath), '../lib/node_modules')] }));
    return [process.execPath, join(npmDir, 'node_modules/node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

// Distro Node ships its headers under <prefix>/include/node; point node-gyp there so it never
// needs the network to fetch them.
const prefix = dirname(dirname(process.execPath));
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);

const [cmd, ...pre] = nodeGyp();
const r = spawnSync(cmd, [...pre, ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
if (r.status === 0) {
  console.log('@distillery/native: addon built (backend "native" available)');
} else {
  const log = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n').slice(-12).join('\n');
  console.warn(
    `@distillery/native: addon not built, the "native" backend will not be offered.\n` +
      `  Needs a C compiler, Node headers and OpenBLAS (Debian: apt-get install -y build-essential libopenblas-dev),\n` +
      `  then rerun: pnpm --filter @distillery/native run install\n${log.replace(/^/gm, '  | ')}`,
  );
}
