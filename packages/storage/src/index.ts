/**
 * `@distillery/storage` in Node: the file system is the default store. Bundlers that resolve the
 * `browser` export condition (esbuild, vite, webpack) get browser.ts instead, whose default is the
 * Origin Private File System and which never imports a `node:` module.
 */
import { homedir, hostname } from 'node:os';
import { NodeFileStore } from './node.js';
import type { Platform } from './portable.js';
import type { FileStore } from './store.js';

export * from './portable.js';
export { NodeFileStore, writeDurably } from './node.js';

const store = new NodeFileStore();

/** The store savers and loaders use when given none: the Node file system here. */
export function defaultFileStore(): FileStore {
  return store;
}

export function platform(): Platform {
  return { processId: process.pid, hostName: hostname(), homeDir: homedir(), env: (name) => process.env[name] };
}
