import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { DistilleryModelsError, hubCacheDir, repoCacheDir, resolveModelDir } from '@distillery/models';

let tmp: string;
const savedEnv = { ...process.env };

beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'distillery-hub-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  for (const k of ['HF_HUB_CACHE', 'HF_HOME', 'HF_HUB_OFFLINE', 'HF_ENDPOINT']) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

/** A cache entry as huggingface_hub writes it: refs/<ref> holds the sha, snapshots/<sha>/ the files. */
function cacheModel(cache: string, repoId: string, sha: string, refs: string[] = ['main']): string {
  const repo = repoCacheDir(repoId, cache);
  const snapshot = join(repo, 'snapshots', sha);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(snapshot, 'config.json'), JSON.stringify({ model_type: 'bert', sha }));
  for (const ref of refs) writeFileSync(join(repo, 'refs', ref), `${sha}\n`);
  return snapshot;
}

function codeOf(p: Promise<unknown>): Promise<DistilleryModelsError> {
  return p.then(
    () => { throw new Error('expected a DistilleryModelsError'); },
    (e: unknown) => { expect(e).toBeInstanceOf(DistilleryModelsError); return e as DistilleryModelsError; },
  );
}

describe('resolveModelDir: local folders', () => {
  it('returns a folder with config.json as an absolute path', async () => {
    const dir = join(tmp, 'local-model');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{}');
    expect(await resolveModelDir(dir)).toBe(dir);
    expect(await resolveModelDir(relative(process.cwd(), dir))).toBe(dir);
  });

  it('refuses a folder without config.json, naming it', async () => {
    const dir = join(tmp, 'no-config');
    mkdirSync(dir, { recursive: true });
    const e = await codeOf(resolveModelDir(dir));
    expect(e.code).toBe('CONFIG_MISSING');
    expect(e.message).toContain(dir);
  });

  it('refuses a file where a folder is expected', async () => {
    const file = join(tmp, 'local-model', 'config.json');
    mkdirSync(join(tmp, 'local-model'), { recursive: true });
    writeFileSync(file, '{}');
    const e = await codeOf(resolveModelDir(file));
    expect(e.code).toBe('CONFIG_MISSING');
    expect(e.message).toContain(file);
  });

  it('refuses a missing path that is not a hub id', async () => {
    const e = await codeOf(resolveModelDir(join(tmp, 'nope', 'deeper', 'still')));
    expect(e.code).toBe('HUB_NOT_FOUND');
  });
});

describe('resolveModelDir: hub ids through the HF cache', () => {
  it('follows refs/<revision> to the snapshot, for org/name and bare names', async () => {
    const cache = join(tmp, 'cache-a');
    const snap = cacheModel(cache, 'acme/bert-tiny', '1'.repeat(40));
    expect(await resolveModelDir('acme/bert-tiny', { cacheDir: cache })).toBe(snap);
    const bare = cacheModel(cache, 'bert-base-uncased', '2'.repeat(40));
    expect(await resolveModelDir('bert-base-uncased', { cacheDir: cache })).toBe(bare);
    expect(repoCacheDir('acme/bert-tiny', cache)).toBe(join(cache, 'models--acme--bert-tiny'));
  });

  it('resolves tags and raw commit shas', async () => {
    const cache = join(tmp, 'cache-b');
    const v1 = cacheModel(cache, 'acme/m', 'a'.repeat(40), ['v1']);
    const main = cacheModel(cache, 'acme/m', 'b'.repeat(40), ['main']);
    expect(await resolveModelDir('acme/m', { cacheDir: cache, revision: 'v1' })).toBe(v1);
    expect(await resolveModelDir('acme/m', { cacheDir: cache })).toBe(main);
    expect(await resolveModelDir('acme/m', { cacheDir: cache, revision: 'a'.repeat(40) })).toBe(v1);
  });

  it('finds the cache through HF_HUB_CACHE, then HF_HOME/hub, then ~/.cache/huggingface/hub', async () => {
    delete process.env.HF_HUB_CACHE;
    delete process.env.HF_HOME;
    expect(hubCacheDir()).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
    process.env.HF_HOME = join(tmp, 'hf-home');
    const viaHome = cacheModel(join(tmp, 'hf-home', 'hub'), 'acme/home', 'c'.repeat(40));
    expect(await resolveModelDir('acme/home')).toBe(viaHome);
    process.env.HF_HUB_CACHE = join(tmp, 'hub-cache');
    const viaCache = cacheModel(join(tmp, 'hub-cache'), 'acme/home', 'd'.repeat(40));
    expect(await resolveModelDir('acme/home')).toBe(viaCache);
  });

  it('offline and not cached: one HUB_OFFLINE error naming the id, the cache path and the fix', async () => {
    const cache = join(tmp, 'cache-empty');
    const e = await codeOf(resolveModelDir('acme/absent', { cacheDir: cache, localFilesOnly: true }));
    expect(e.code).toBe('HUB_OFFLINE');
    expect(e.message).toContain('acme/absent');
    expect(e.message).toContain(join(cache, 'models--acme--absent'));
    expect(e.message).toMatch(/HF_HUB_CACHE/);
    process.env.HF_HUB_OFFLINE = '1';
    expect((await codeOf(resolveModelDir('acme/absent', { cacheDir: cache }))).code).toBe('HUB_OFFLINE');
  });

  it('a ref whose snapshot lacks config.json counts as not cached', async () => {
    const cache = join(tmp, 'cache-partial');
    const snap = cacheModel(cache, 'acme/partial', 'e'.repeat(40));
    rmSync(join(snap, 'config.json'));
    expect((await codeOf(resolveModelDir('acme/partial', { cacheDir: cache, localFilesOnly: true }))).code).toBe('HUB_OFFLINE');
  });

  it('online but the hub is unreachable: HUB_OFFLINE, not a fetch error', async () => {
    // A port that was just free: connections are refused, as with no network.
    const port = await new Promise<number>((done) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => done(p));
      });
    });
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    const e = await codeOf(resolveModelDir('acme/unreachable', { cacheDir: join(tmp, 'cache-net') }));
    expect(e.code).toBe('HUB_OFFLINE');
    expect(e.message).toContain(join(tmp, 'cache-net', 'models--acme--unreachable'));
  });
});
