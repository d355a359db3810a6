/**
 * An exported student in the browser: headless Chromium loads transformers.js' web build with
 * onnxruntime-web (wasm), all from a static server on 127.0.0.1 (no other host is asked for
 * anything), and classifies a text with the label and scores Node's onnxruntime-node gives.
 */
import * as tf from '@tensorflow/tfjs';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { BertForSequenceClassification, parseConfig, type BertConfig } from '@distillery/models';
import { exportOnnx } from '@distillery/onnx';
import { initBackend } from '@distillery/backends';
import * as hf from '@huggingface/transformers';
import { CHROMIUM_FLAGS, findChromium } from '../../examples/demo/screenshot.js';
import { bertConfig, writeTask } from '../cli/fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const TEXT = 'the acting was awful and the plot is poor';
const tmp = tempDir('distillery-onnx-web-');
const require = createRequire(import.meta.url);
const transformersDist = dirname(require.resolve('@huggingface/transformers'));
const ortWebDist = dirname(createRequire(join(transformersDist, 'x.js')).resolve('onnxruntime-web'));
const ortCommonEsm = join(dirname(dirname(createRequire(join(ortWebDist, 'x.js')).resolve('onnxruntime-common'))), 'esm');

/** URL prefix → folder; everything the page needs, nothing else. */
const ROUTES: Record<string, string> = { '/transformers/': transformersDist, '/ort/': ortWebDist, '/ort-common/': ortCommonEsm, '/models/': join(tmp, 'models') };
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html', '.txt': 'text/plain' };

const PAGE = `<!doctype html><meta charset="utf-8">
<script type="importmap">${JSON.stringify({ imports: { '@huggingface/transformers': '/transformers/transformers.web.js', 'onnxruntime-web/webgpu': '/ort/ort.webgpu.bundle.min.mjs', 'onnxruntime-common': '/ort-common/index.js' } })}</script>
<script type="module">
import { pipeline, env } from '@huggingface/transformers';
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = '/models/';
env.backends.onnx.wasm.wasmPaths = '/ort/'; // transformers.js defaults to a CDN
env.backends.onnx.wasm.numThreads = 1; // no cross-origin isolation: no SharedArrayBuffer
try {
  const classify = await pipeline('text-classification', 'student', { dtype: 'fp32', device: 'wasm' });
  window.__result = await classify(${JSON.stringify(TEXT)}, { top_k: null });
} catch (e) {
  window.__error = String((e && e.stack) || e);
}
</script>`;

let server: Server;
let origin = '';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const task = writeTask(tmp);
  const model = new BertForSequenceClassification(parseConfig({ ...bertConfig(16, 2), id2label: { 0: 'negative', 1: 'positive' } }, 'test') as BertConfig, 9);
  // A random head scores ~0.5 everywhere: sharpen it so the compared scores are far apart.
  const head = model.namedParameters().get('classifier.weight')!;
  head.assign(tf.mul(head, 200));
  await exportOnnx(model, join(tmp, 'models', 'student'), { tokenizerDir: task.tokenizer });
  model.dispose();
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (path === '/') { res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE); return; }
    const prefix = Object.keys(ROUTES).find((p) => path.startsWith(p));
    const file = prefix && normalize(join(ROUTES[prefix]!, path.slice(prefix.length)));
    if (!file || !file.startsWith(ROUTES[prefix!]!) || !existsSync(file) || !statSync(file).isFile()) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

const executablePath = findChromium();

it.skipIf(!executablePath)('transformers.js web build (onnxruntime-web wasm) classifies like Node, offline from 127.0.0.1', async () => {
  hf.env.allowRemoteModels = false;
  hf.env.localModelPath = `${join(tmp, 'models')}/`;
  const node = await hf.pipeline('text-classification', 'student', { dtype: 'fp32', device: 'cpu' });
  const expected = (await node(TEXT, { top_k: null })) as Array<{ label: string; score: number }>;
  await node.dispose();

  const browser = await chromium.launch({ executablePath: executablePath!, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => { if (!r.url().startsWith(`${origin}/`)) foreign.push(r.url()); });
    await page.goto(`${origin}/`);
    await page.waitForFunction('window.__result !== undefined || window.__error !== undefined', undefined, { timeout: 60_000 });
    const error = await page.evaluate('window.__error');
    expect(error).toBeUndefined();
    const got = (await page.evaluate('window.__result')) as Array<{ label: string; score: number }>;
    expect(foreign).toEqual([]);
    expect(got.map((r) => r.label)).toEqual(expected.map((r) => r.label));
    got.forEach((r, i) => expect(Math.abs(r.score - expected[i]!.score), r.label).toBeLessThan(1e-4));
    expect(Math.abs(got[0]!.score - got[1]!.score)).toBeGreaterThan(0.1);
    console.log(`browser (onnxruntime-web wasm): ${JSON.stringify(got)}; node: ${JSON.stringify(expected)}`);
  } finally {
    await browser.close();
  }
});
