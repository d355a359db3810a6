// What both entries (Node: index.ts, browser: browser.ts) export alike.
export { DistilleryStorageError } from './errors.js';
export type { StorageErrorCode } from './errors.js';
export type { FileStore, FileStat, SyncFileReader, SyncFileStore } from './store.js';
export { readText, exists, hasSyncAccess } from './store.js';
export { joinPath, parentPath, baseName } from './path.js';
export { OpfsFileStore } from './opfs.js';

/** Facts about the running process that file names and default locations use. */
export interface Platform {
  /** Tells concurrent writers' temp files apart (the pid in Node). */
  processId: number;
  /** The machine's name, as HF puts it in TensorBoard event file names. */
  hostName: string;
  /** Where per-user caches live (`~` in Node; the OPFS root in a browser). */
  homeDir: string;
  /** An environment variable, undefined where there is no environment (a browser). */
  env(name: string): string | undefined;
}
