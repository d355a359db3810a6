/** `@distillery/storage` in a browser (the `browser` export condition): the default store is the Origin Private File System. */
import { OpfsFileStore } from './opfs.js';
import type { Platform } from './portable.js';
import type { FileStore } from './store.js';

export * from './portable.js';

const store = new OpfsFileStore();
// A page has no pid: a random one still tells two tabs' temp files apart.
const processId = 1 + Math.floor(Math.random() * 0x7ffffffe);

/** The store savers and loaders use when given none: the Origin Private File System here. */
export function defaultFileStore(): FileStore {
  return store;
}

export function platform(): Platform {
  const host = (globalThis as { location?: { hostname?: string } }).location?.hostname;
  return { processId, hostName: host || 'browser', homeDir: '/', env: () => undefined };
}
