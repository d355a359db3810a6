// @distillery/storage in Node: the file-system store keeps the checkpoint writer's guarantees
// (atomic, fsynced whole-file writes; a failed write leaves the old file and no temp file), and
// joinPath/parentPath agree with node:path's POSIX functions, which they replace in browser code.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NodeFileStore, OpfsFileStore, baseName, defaultFileStore, exists, hasSyncAccess, joinPath, parentPath, readText } from '@distillery/storage';
import { armDiskQuota } from '../reliability/helpers/disk-quota.js';
import { tempDir } from '../helpers/tmp.js';

describe('NodeFileStore', () => {
  const store = new NodeFileStore();

  it('is the default store in Node, with synchronous access for the teacher cache', () => {
    expect(defaultFileStore()).toBeInstanceOf(NodeFileStore);
    expect(hasSyncAccess(store)).toBe(true);
  });

  it('reads a file at positions through one open reader, and says how short a read past the end fell', () => {
    const file = joinPath(tempDir('distillery-store-'), 'rows.bin');
    writeFileSync(file, Uint8Array.from({ length: 100 }, (_, i) => i));
    const reader = store.openReader(file);
    try {
      expect(reader.size).toBe(100);
      const target = new Uint8Array(5);
      expect(reader.read(40, target)).toBe(5);
      expect([...target]).toEqual([40, 41, 42, 43, 44]);
      expect(reader.read(97, target)).toBe(3);
      expect([...target.subarray(0, 3)]).toEqual([97, 98, 99]);
    } finally {
      reader.close();
    }
  });

  it('writes, appends, lists, stats, renames and removes', async () => {
    const dir = joinPath(tempDir('distillery-store-'), 'a', 'b');
    expect(await store.list(dir)).toEqual([]);
    expect(await store.stat(dir)).toBeUndefined();
    await store.mkdir(dir);
    await store.writeFile(joinPath(dir, 'z.json'), '{"x":1}');
    await store.writeFile(joinPath(dir, 'y.bin'), new Uint8Array([1, 2, 3]));
    await store.appendFile(joinPath(dir, 'log.jsonl'), 'one\n');
    await store.appendFile(joinPath(dir, 'log.jsonl'), 'two\n');
    expect(await store.list(dir)).toEqual(['log.jsonl', 'y.bin', 'z.json']);
    expect(await store.stat(joinPath(dir, 'y.bin'))).toEqual({ kind: 'file', size: 3 });
    expect(await store.stat(dir)).toEqual({ kind: 'directory', size: 0 });
    expect(await store.stat(joinPath(dir, 'y.bin', 'under-a-file'))).toBeUndefined();
    expect(await readText(store, joinPath(dir, 'log.jsonl'))).toBe('one\ntwo\n');
    await store.rename(dir, `${dir}-moved`);
    expect(await exists(store, dir)).toBe(false);
    expect([...(await store.readFile(joinPath(`${dir}-moved`, 'y.bin')))]).toEqual([1, 2, 3]);
    await store.sync(`${dir}-moved`, { tree: true });
    await store.remove(`${dir}-moved`);
    await store.remove(`${dir}-moved`); // nothing there: not an error
    expect(await exists(store, `${dir}-moved`)).toBe(false);
    await expect(store.readFile(joinPath(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a write that fails on a full disk keeps the old file and leaves no temp file', async () => {
    const dir = tempDir('distillery-store-');
    const file = joinPath(dir, 'model.safetensors');
    writeFileSync(file, 'old contents');
    const restore = armDiskQuota(4);
    try {
      await expect(store.writeFile(file, 'new contents, longer than the quota')).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      restore();
    }
    expect(readFileSync(file, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });
});

describe('path helpers', () => {
  const segment = fc.constantFrom('a', 'bc', '.', '..', '', 'x.json');
  const path = fc.tuple(fc.boolean(), fc.array(segment, { maxLength: 6 })).map(([abs, parts]) => `${abs ? '/' : ''}${parts.join('/')}`);

  it('joinPath, parentPath and baseName match path.posix', () => {
    fc.assert(
      fc.property(fc.array(path, { minLength: 1, maxLength: 3 }), (parts) => {
        expect(joinPath(...parts)).toBe(posix.join(...parts));
        const joined = posix.join(...parts);
        expect(parentPath(joined)).toBe(posix.dirname(joined));
        expect(baseName(joined)).toBe(posix.basename(joined));
      }),
    );
  });
});

describe('OpfsFileStore outside a browser', () => {
  it('refuses paths above its root and says when there is no Origin Private File System', async () => {
    const store = new OpfsFileStore();
    expect(store.absolute('runs//student/./x')).toBe('/runs/student/x');
    expect(() => store.absolute('../secrets')).toThrow(expect.objectContaining({ code: 'PATH_INVALID', message: expect.stringMatching(/^\.\.\/secrets: climbs above/) }));
    await expect(store.readFile('runs/x')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: expect.stringMatching(/no Origin Private File System \(navigator\.storage\.getDirectory\)/) });
  });
});
