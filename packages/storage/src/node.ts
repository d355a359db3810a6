/**
 * The Node file system as a `FileStore`: whole-file writes go to a temp file beside the target,
 * are fsynced, then renamed into place (atomic and durable, as the checkpoint writer has always
 * done). Only this file and index.ts import `node:` modules; the browser entry never reaches them.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { joinPath } from './path.js';
import type { FileStat, SyncFileReader, SyncFileStore } from './store.js';

/** Write `data` to `path` and fsync it before returning (the atomic writers rename such a file into place). */
export function writeDurably(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync every file and folder under `dir`, then `dir` itself. */
function fsyncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = joinPath(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

export class NodeFileStore implements SyncFileStore {
  readonly where = 'the file system';

  /** The absolute form of `path` (relative to the working directory), for messages and returned folders. */
  absolute(path: string): string {
    return resolve(path);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return readFile(path);
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeDurably(tmp, data);
      await rename(tmp, path);
    } catch (e) {
      // A full disk or a read-only folder: leave no half-written temp file beside the target.
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  async appendFile(path: string, data: Uint8Array | string): Promise<void> {
    await appendFile(path, data);
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await stat(path);
      return { kind: s.isDirectory() ? 'directory' : 'file', size: s.isDirectory() ? 0 : s.size };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async mkdir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }

  readFileSync(path: string): Uint8Array | undefined {
    try {
      return readFileSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  writeFileSync(path: string, data: Uint8Array | string): void {
    writeFileSync(path, data);
  }

  mkdirSync(dir: string): void {
    mkdirSync(dir, { recursive: true });
  }

  openReader(path: string): SyncFileReader {
    const fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    return {
      size,
      read(position: number, target: Uint8Array): number {
        let done = 0;
        // readSync may return less than asked (reads over 2 GiB); 0 means the file ends here.
        while (done < target.byteLength) {
          const n = readSync(fd, target, done, target.byteLength - done, position + done);
          if (n === 0) break;
          done += n;
        }
        return done;
      },
      close: () => closeSync(fd),
    };
  }

  async sync(path: string, options: { tree?: boolean } = {}): Promise<void> {
    if (options.tree) fsyncTree(path);
    else fsyncPath(path);
  }
}
