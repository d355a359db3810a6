/**
 * The few file operations distillery's savers and loaders need (checkpoints, savePretrained /
 * fromPretrained, teacher caches, metric logs), so the same code runs on the Node file system and
 * in a browser's Origin Private File System. Paths are `/`-separated strings. A store throws the
 * platform's own error for an I/O failure (an errno error in Node, a DOMException in a browser),
 * and the caller, which knows what the file is for, names it and the fix in its own typed error.
 */
export interface FileStat {
  kind: 'file' | 'directory';
  /** Bytes of a file (0 for a folder). */
  size: number;
}

export interface FileStore {
  /** Where the files live, for messages ("the file system", "the browser's Origin Private File System"). */
  readonly where: string;
  /** `path` as this store resolves it (absolute in Node; from the OPFS root in a browser), for messages and returned folders. */
  absolute(path: string): string;
  readFile(path: string): Promise<Uint8Array>;
  /** Replace `path` atomically (a reader sees the old file or the whole new one) and durably; the folder must exist. */
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /** Append to `path`, creating it; not atomic (logs). */
  appendFile(path: string, data: Uint8Array | string): Promise<void>;
  /** What is at `path`, or undefined when nothing is. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Names in the folder `dir`, sorted; empty when it does not exist. */
  list(dir: string): Promise<string[]>;
  /** Create `dir` and its missing parents. */
  mkdir(dir: string): Promise<void>;
  /** Delete a file or a folder tree; nothing there is not an error. */
  remove(path: string): Promise<void>;
  /** Move a file or folder to a path that does not exist yet, in one step where the platform can. */
  rename(from: string, to: string): Promise<void>;
  /** Make `path` (a file or folder entry; with `tree`, everything under the folder too) durable: fsync in Node; a browser commits on close. */
  sync(path: string, options?: { tree?: boolean }): Promise<void>;
}

/**
 * A store that can also read and write whole files synchronously: Node's. For callers that must
 * read inside a synchronous step (the teacher cache's disk mode); a browser has no such access.
 */
export interface SyncFileStore extends FileStore {
  /** The file's bytes, or undefined when there is none. */
  readFileSync(path: string): Uint8Array | undefined;
  /** Write in place (not atomic, not fsynced: for caches that can be rebuilt). */
  writeFileSync(path: string, data: Uint8Array | string): void;
  mkdirSync(dir: string): void;
  /** `path` opened once for positional reads (large files read piece by piece, e.g. teacher-cache shards). */
  openReader(path: string): SyncFileReader;
}

/** A file open for synchronous positional reads. */
export interface SyncFileReader {
  /** Bytes of the file when it was opened. */
  readonly size: number;
  /**
   * Fill `target` from byte `position`; returns the bytes read, fewer only where the file now ends
   * before (the shape of OPFS's `FileSystemSyncAccessHandle.read(buffer, { at })`, for a worker's store).
   */
  read(position: number, target: Uint8Array): number;
  close(): void;
}

export function hasSyncAccess(store: FileStore): store is SyncFileStore {
  return typeof (store as Partial<SyncFileStore>).readFileSync === 'function';
}

/** `path` read as UTF-8 text. */
export async function readText(store: FileStore, path: string): Promise<string> {
  return new TextDecoder().decode(await store.readFile(path));
}

/** Whether `path` exists (file or folder). */
export async function exists(store: FileStore, path: string): Promise<boolean> {
  return (await store.stat(path)) !== undefined;
}
