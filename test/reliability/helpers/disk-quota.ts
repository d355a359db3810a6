/**
 * A failing fs stub at the writer boundary, for disk-full tests without mounting a tmpfs: once
 * armed, the write functions the checkpoint writer and savePretrained use share a byte budget;
 * a write that does not fit writes what fits, then throws ENOSPC as the kernel reports it.
 * Patched on `node:fs` and made visible to ESM named imports with syncBuiltinESMExports.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';

type Data = string | NodeJS.ArrayBufferView;

function enospc(syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });
}

function toBytes(data: Data): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Arm the budget; returns the function that puts the real fs functions back. */
export function armDiskQuota(bytes: number): () => void {
  let left = bytes;
  /** The part of `data` that still fits, and whether the disk is full after it. */
  const fit = (data: Data): { part: Uint8Array; full: boolean } => {
    const all = toBytes(data);
    const part = all.subarray(0, Math.min(left, all.byteLength));
    left -= part.byteLength;
    return { part, full: part.byteLength < all.byteLength };
  };
  const { writeFileSync } = fs;
  const writeFile = fs.promises.writeFile;
  fs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: Data, options?: fs.WriteFileOptions) => {
    const { part, full } = fit(data);
    writeFileSync(file, part, options);
    if (full) throw enospc('write');
  }) as typeof fs.writeFileSync;
  fs.promises.writeFile = (async (file: fs.PathLike | fs.promises.FileHandle, data: Data) => {
    const { part, full } = fit(data);
    await writeFile(file, part);
    if (full) throw enospc('write');
  }) as typeof fs.promises.writeFile;
  syncBuiltinESMExports();
  return () => {
    fs.writeFileSync = writeFileSync;
    fs.promises.writeFile = writeFile;
    syncBuiltinESMExports();
  };
}

/** Total size of the files in a folder tree. */
export function folderBytes(dir: string): number {
  return fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? folderBytes(join(dir, e.name)) : fs.statSync(join(dir, e.name)).size), 0);
}
