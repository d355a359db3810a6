/**
 * The browser's Origin Private File System (`navigator.storage.getDirectory()`) as a `FileStore`:
 * a page can save a checkpoint or a model folder and load it back, with no download dialog and
 * no server. Paths are taken from the OPFS root (a leading `/` is ignored). `createWritable()`
 * writes to a swap file the browser commits on `close()`, so a whole-file write is atomic.
 * The handle types are declared structurally here so the package does not need the DOM lib.
 */
import { DistilleryStorageError } from './errors.js';
import { joinPath } from './path.js';
import type { FileStat, FileStore } from './store.js';

interface WritableFile {
  write(data: Uint8Array | string): Promise<void>;
  seek(position: number): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}
interface FileHandle {
  readonly kind: 'file';
  getFile(): Promise<{ readonly size: number; arrayBuffer(): Promise<ArrayBuffer> }>;
  createWritable(options?: { keepExistingData?: boolean }): Promise<WritableFile>;
  move?(parent: DirectoryHandle, name: string): Promise<void>;
}
interface DirectoryHandle {
  readonly kind: 'directory';
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirectoryHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandle>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterable<string>;
  move?(parent: DirectoryHandle, name: string): Promise<void>;
}

/** `NotFoundError` (no such entry) or `TypeMismatchError` (a file where a folder was asked, or the reverse). */
function isAbsent(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

export class OpfsFileStore implements FileStore {
  readonly where = "the browser's Origin Private File System";
  private root?: Promise<DirectoryHandle>;

  absolute(path: string): string {
    return `/${this.segments(path).join('/')}`;
  }

  private segments(path: string): string[] {
    const parts = joinPath('/', path).split('/').filter((s) => s !== '');
    if (joinPath(path).split('/').includes('..')) {
      throw new DistilleryStorageError('PATH_INVALID', `${path}: climbs above the Origin Private File System root with ".."; give a path inside it (e.g. runs/student).`);
    }
    return parts;
  }

  private directory(): Promise<DirectoryHandle> {
    const storage = (globalThis as unknown as { navigator?: { storage?: { getDirectory?: () => Promise<DirectoryHandle> } } }).navigator?.storage;
    if (typeof storage?.getDirectory !== 'function') {
      throw new DistilleryStorageError('STORAGE_UNAVAILABLE', "this JavaScript context has no Origin Private File System (navigator.storage.getDirectory); open the page over https or http://localhost in a current browser, or pass another FileStore.");
    }
    this.root ??= storage.getDirectory();
    return this.root;
  }

  /** The folder at `segments`, created (with its parents) when `create`. */
  private async folder(segments: readonly string[], create = false): Promise<DirectoryHandle> {
    let dir = await this.directory();
    for (const s of segments) dir = await dir.getDirectoryHandle(s, { create });
    return dir;
  }

  /** The parent folder handle and the last name of `path`. */
  private async entry(path: string, create = false): Promise<{ parent: DirectoryHandle; name: string }> {
    const segments = this.segments(path);
    const name = segments.pop();
    if (name === undefined) throw new DistilleryStorageError('PATH_INVALID', `${path}: names the Origin Private File System root itself; give a file or folder inside it.`);
    return { parent: await this.folder(segments, create), name };
  }

  async readFile(path: string): Promise<Uint8Array> {
    const { parent, name } = await this.entry(path);
    return new Uint8Array(await (await (await parent.getFileHandle(name)).getFile()).arrayBuffer());
  }

  async writeFile(path: string, data: Uint8Array | string): Promise<void> {
    const { parent, name } = await this.entry(path);
    const out = await (await parent.getFileHandle(name, { create: true })).createWritable();
    try {
      await out.write(data);
    } catch (e) {
      // Nothing is committed: the file keeps its previous contents.
      await out.abort();
      throw e;
    }
    await out.close();
  }

  async appendFile(path: string, data: Uint8Array | string): Promise<void> {
    const { parent, name } = await this.entry(path);
    const handle = await parent.getFileHandle(name, { create: true });
    const out = await handle.createWritable({ keepExistingData: true });
    await out.seek((await handle.getFile()).size);
    await out.write(data);
    await out.close();
  }

  async stat(path: string): Promise<FileStat | undefined> {
    if (this.segments(path).length === 0) return { kind: 'directory', size: 0 };
    try {
      const { parent, name } = await this.entry(path);
      try {
        return { kind: 'file', size: (await (await parent.getFileHandle(name)).getFile()).size };
      } catch (e) {
        if (!isAbsent(e)) throw e;
        await parent.getDirectoryHandle(name);
        return { kind: 'directory', size: 0 };
      }
    } catch (e) {
      if (isAbsent(e)) return undefined;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    let folder: DirectoryHandle;
    try {
      folder = await this.folder(this.segments(dir));
    } catch (e) {
      if (isAbsent(e)) return [];
      throw e;
    }
    const names: string[] = [];
    for await (const name of folder.keys()) names.push(name);
    return names.sort();
  }

  async mkdir(dir: string): Promise<void> {
    await this.folder(this.segments(dir), true);
  }

  async remove(path: string): Promise<void> {
    try {
      const { parent, name } = await this.entry(path);
      await parent.removeEntry(name, { recursive: true });
    } catch (e) {
      if (!isAbsent(e)) throw e;
    }
  }

  /**
   * `FileSystemHandle.move()` where the browser has it (one step). Chromium 156 has no move for
   * folders, so a folder is copied and then deleted: not atomic, and a crash between leaves both
   * (the checkpoint reader refuses an incomplete copy, naming the missing file).
   */
  async rename(from: string, to: string): Promise<void> {
    const source = await this.entry(from);
    const target = await this.entry(to);
    let handle: FileHandle | DirectoryHandle;
    try {
      handle = await source.parent.getFileHandle(source.name);
    } catch (e) {
      if (!isAbsent(e)) throw e;
      handle = await source.parent.getDirectoryHandle(source.name);
    }
    if (typeof handle.move === 'function') {
      await handle.move(target.parent, target.name);
      return;
    }
    await this.copy(from, to);
    await this.remove(from);
  }

  private async copy(from: string, to: string): Promise<void> {
    if ((await this.stat(from))?.kind === 'directory') {
      await this.mkdir(to);
      for (const name of await this.list(from)) await this.copy(joinPath(from, name), joinPath(to, name));
    } else {
      await this.writeFile(to, await this.readFile(from));
    }
  }

  async sync(): Promise<void> {
    // Each writable was committed by its close(); OPFS has no separate flush.
  }
}
