/**
 * Opens an HTML file in headless Chromium (the Debian package, driven by playwright-core),
 * records console errors, page errors and any network request, and saves a full-page PNG.
 * This is how the report is checked: it must render offline, cleanly, in a real browser.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { DistilleryDemoError } from './errors.js';

export interface ScreenshotResult {
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests for anything but the file itself: a self-contained page makes none. */
  externalRequests: string[];
  /** Rendered page size in CSS pixels. */
  width: number;
  height: number;
  /** What `options.evaluate` returned in the page, when given. */
  evaluated?: unknown;
}

export interface ScreenshotOptions {
  /** Chromium binary (default $CHROMIUM_PATH, else /usr/bin/chromium). */
  executablePath?: string;
  viewportWidth?: number;
  /** A JS expression run in the loaded page (e.g. to measure what was drawn); its value comes back. */
  evaluate?: string;
}

/** The Chromium binary to use, or undefined when none is installed. */
export function findChromium(): string | undefined {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return existsSync(path) ? path : undefined;
}

// Offline, quiet, no sandbox (CI runs as root); playwright adds a fresh temporary --user-data-dir.
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function screenshotHtml(htmlPath: string, pngPath: string, options: ScreenshotOptions = {}): Promise<ScreenshotResult> {
  const executablePath = options.executablePath ?? findChromium();
  if (!executablePath) {
    throw new DistilleryDemoError('OPTION_INVALID', 'no Chromium found at $CHROMIUM_PATH or /usr/bin/chromium; install it with `apt-get install -y chromium`');
  }
  const url = pathToFileURL(resolve(htmlPath)).href;
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS });
  try {
    const page = await browser.newPage({ viewport: { width: options.viewportWidth ?? 1280, height: 900 } });
    const result: ScreenshotResult = { consoleErrors: [], pageErrors: [], externalRequests: [], width: 0, height: 0 };
    page.on('console', (msg) => {
      if (msg.type() === 'error') result.consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => result.pageErrors.push(err.message));
    page.on('request', (req) => {
      if (req.url() !== url) result.externalRequests.push(req.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const size = await page.evaluate('({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight })');
    Object.assign(result, size as { width: number; height: number });
    if (options.evaluate) result.evaluated = await page.evaluate(options.evaluate);
    await page.screenshot({ path: pngPath, fullPage: true });
    return result;
  } finally {
    await browser.close();
  }
}
