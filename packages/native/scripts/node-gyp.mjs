// How the install and prebuild scripts run node-gyp without the network.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** node-gyp as [command, ...leading args]: npm's own when it names it, else npm's bundled copy, else PATH. */
export function nodeGyp() {
  // npm and pnpm put their bundled node-gyp on PATH for lifecycle scripts; npm also names it here.
  if (process.env.npm_config_node_gyp) return [process.execPath, process.env.npm_config_node_gyp];
  try {
    const npmDir = dirname(createRequire(import.meta.url).resolve('npm/package.json', { paths: [join(dirname(process.execPath), '../lib/node_modules')] }));
    return [process.execPath, join(npmDir, 'node_modules/node-gyp/bin/node-gyp.js')];
  } catch {
    return ['node-gyp'];
  }
}

/**
 * Distro Node ships its headers under <prefix>/include/node; naming that folder as nodedir means
 * node-gyp never needs the network to fetch them. Undefined when the user chose one or none is there.
 */
export function localNodedir() {
  const prefix = dirname(dirname(process.execPath));
  return !process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined;
}
