/**
 * Serve the browser bundle (and a teacher folder) on localhost and run the page in headless
 * Chromium through playwright-core: how the test drives it, and a way to watch it run.
 *
 *   tsx --conditions=distillery-source examples/browser/drive.ts <teacher folder> [--webgpu] [--steps N] [--out DIR]
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { buildBrowserBundle } from './build.js';
import type { PageState } from './page-state.js';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/** Static files: `/teacher/...` from the teacher folder, everything else from the bundle folder. */
function serve(bundleDir: string, teacherDir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path.startsWith('/teacher/') ? join(teacherDir, path.slice('/teacher/'.length)) : join(bundleDir, path === '/' ? 'index.html' : path);
    const inside = [bundleDir, teacherDir].some((root) => resolve(file).startsWith(resolve(root)));
    if (!inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

/** The page's state at the end (page-state.ts), plus the driver's own. */
export interface BrowserRun extends Omit<PageState, 'status'> {
  /** The page's status, or the driver's 'not started' / 'timed out while <status>'. */
  status: string;
  screenshot: string;
  consoleErrors: string[];
}

export interface BrowserRunOptions {
  executablePath: string;
  teacherDir: string;
  /** Start Chromium with --enable-unsafe-webgpu (headless Chromium offers WebGPU only with it). */
  webgpu: boolean;
  steps: number;
  /** Where the bundle is built and the screenshot written. */
  outDir: string;
  timeoutMs?: number;
}

export async function runBrowserDistillation(o: BrowserRunOptions): Promise<BrowserRun> {
  const bundleDir = await buildBrowserBundle(join(o.outDir, 'site'));
  const server = await serve(bundleDir, o.teacherDir);
  // Offline and quiet, no sandbox (CI runs as root).
  const args = ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', ...(o.webgpu ? ['--enable-unsafe-webgpu'] : [])];
  const browser = await chromium.launch({ executablePath: o.executablePath, headless: true, args });
  try {
    const page = await browser.newPage({ viewport: { width: 700, height: 560 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    const port = (server.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/?teacher=/teacher/&steps=${o.steps}`);
    const finished = await page
      .waitForFunction(() => ['done', 'error'].includes((window as unknown as { distillery?: { status: string } }).distillery?.status ?? ''), undefined, { timeout: o.timeoutMs ?? 180_000, polling: 500 })
      .then(() => true, () => false);
    const state = ((await page.evaluate(() => (window as unknown as { distillery?: unknown }).distillery)) ?? { status: 'not started', losses: [] }) as Omit<BrowserRun, 'screenshot' | 'consoleErrors'>;
    if (!finished) state.status = `timed out while ${state.status}`;
    const screenshot = join(o.outDir, `browser-${state.backend ?? 'unknown'}.png`);
    await page.screenshot({ path: screenshot, fullPage: true });
    return { ...state, screenshot, consoleErrors };
  } finally {
    await browser.close();
    server.close();
  }
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { webgpu: { type: 'boolean' }, steps: { type: 'string' }, out: { type: 'string' } } });
  const teacherDir = positionals[0];
  if (!teacherDir) throw new Error('usage: drive.ts <teacher folder> [--webgpu] [--steps N] [--out DIR]');
  const r = await runBrowserDistillation({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', teacherDir: resolve(teacherDir), webgpu: values.webgpu === true, steps: Number(values.steps ?? 40), outDir: resolve(values.out ?? 'browser-run') });
  console.log(JSON.stringify({ ...r, losses: r.losses.map((l) => `${l.step}:${l.loss.toFixed(4)}`) }, null, 2));
}
