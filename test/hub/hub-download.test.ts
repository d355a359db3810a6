/**
 * The online path of resolveModelDir against a local stand-in for the Hub's HTTP API
 * (revision info, file tree, paths-info, resolve): files land in the standard HF cache layout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, DistilleryModelsError, readSafetensors, repoCacheDir, resolveModelDir, serializeSafetensors, writeWordPieceTokenizer } from '@distillery/models';

const SHA = 'c0ffee'.padEnd(40, '0');
let tmp: string;
let server: Server;
const requests: string[] = [];
/** repo id → file path → bytes. */
const repos = new Map<string, Map<string, Buffer>>();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'distillery-hubdl-'));
  const src = writeWordPieceTokenizer(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world'], join(tmp, 'src'));
  writeFileSync(join(src, 'config.json'), JSON.stringify({ model_type: 'bert', hidden_size: 4 }));
  writeFileSync(join(src, 'model.safetensors'), serializeSafetensors({ 'w': { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } }));
  const files = (names: string[]) => new Map(names.map((n) => [n, readFileSync(join(src, n))]));
  repos.set('acme/tiny', files(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json']));
  repos.set('acme/no-weights', files(['config.json']));

  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url!, 'http://hub');
    const json = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)); };
    const api = url.pathname.match(/^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree|paths-info)\/([^/]+)/);
    const resolve = url.pathname.match(/^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/);
    const repo = repos.get((api ?? resolve)?.[1] ?? '');
    if (!repo) return json(404, { error: 'Repository not found' });
    const etag = (b: Buffer) => createHash('sha1').update(b).digest('hex');
    if (api?.[2] === 'revision') return json(200, { _id: 'x', id: api[1], sha: SHA, private: false, lastModified: '2024-01-01T00:00:00Z' });
    if (api?.[2] === 'tree') return json(200, [...repo].map(([path, b]) => ({ type: 'file', path, oid: etag(b), size: b.length })));
    if (api?.[2] === 'paths-info') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => json(200, (JSON.parse(body) as { paths: string[] }).paths.filter((p) => repo.has(p)).map((path) => ({ type: 'file', path, oid: etag(repo.get(path)!), size: repo.get(path)!.length }))));
      return;
    }
    const file = resolve && repo.get(resolve[3]!);
    if (!file) return json(404, { error: 'Entry not found' });
    if (req.headers.range === 'bytes=0-0') return res.writeHead(206, { 'content-range': `bytes 0-0/${file.length}`, etag: `"${etag(file)}"` }).end(file.subarray(0, 1));
    res.writeHead(200, { 'content-length': file.length, etag: `"${etag(file)}"` }).end(file);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  process.env.HF_ENDPOINT = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  delete process.env.HF_ENDPOINT;
  await new Promise((done) => server.close(done));
  rmSync(tmp, { recursive: true, force: true });
});

describe('resolveModelDir downloads into the HF cache', () => {
  it('fetches config, weights and tokenizer files into snapshots/<sha>/ and writes refs/main', async () => {
    const cache = join(tmp, 'cache');
    const dir = await resolveModelDir('acme/tiny', { cacheDir: cache });
    const repoDir = repoCacheDir('acme/tiny', cache);
    expect(dir).toBe(join(repoDir, 'snapshots', SHA));
    expect(readFileSync(join(repoDir, 'refs', 'main'), 'utf8')).toBe(SHA);
    for (const [name, bytes] of repos.get('acme/tiny')!) expect(readFileSync(join(dir, name)).equals(bytes), name).toBe(true);
    expect([...readSafetensors(join(dir, 'model.safetensors')).tensors.get('w')!.data]).toEqual([1, 2, 3, 4]);

    // Now cached: resolves offline, and the tokenizer loads from the same snapshot.
    const before = requests.length;
    expect(await resolveModelDir('acme/tiny', { cacheDir: cache, localFilesOnly: true })).toBe(dir);
    const tok = await AutoTokenizer.fromPretrained('acme/tiny', { cacheDir: cache, localFilesOnly: true });
    expect(tok.encode(['hello world']).inputIds[0]).toEqual([2, 5, 6, 3]);
    expect(requests.length).toBe(before);
  });

  it('an unknown repo is HUB_NOT_FOUND; a repo without model.safetensors is refused by name', async () => {
    const cache = join(tmp, 'cache-missing');
    const unknown = await resolveModelDir('acme/absent', { cacheDir: cache }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(DistilleryModelsError);
    expect(unknown).toMatchObject({ code: 'HUB_NOT_FOUND' });
    const noWeights = await resolveModelDir('acme/no-weights', { cacheDir: cache }).catch((e: unknown) => e);
    expect(noWeights).toMatchObject({ code: 'HUB_NOT_FOUND', message: expect.stringContaining('model.safetensors') });
  });
});
