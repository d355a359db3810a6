/**
 * Bundle examples/browser/app.ts (models + trainer + plugins + tfjs webgpu/wasm) for the browser
 * with esbuild, into examples/browser/dist/ beside index.html's expectations.
 *
 *   pnpm --filter @distillery/examples exec tsx --conditions=distillery-source browser/build.ts [outDir]
 *
 * The packages are written for Node and import node: modules at the top of files whose browser
 * path never calls them (checkpoints, teacher caches, file loading, backend probing). Those
 * imports resolve here to shims: `node:path` is a small POSIX implementation (the Trainer joins
 * output paths), every other module's functions throw a one-line "not in the browser" error
 * naming the call, so a Node-only feature reached from the page fails loudly.
 */
import { build, type Plugin } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);

const POSIX_PATH = `
const norm = (p) => { const abs = p.startsWith('/'); const out = [];
  for (const s of p.split('/')) { if (s === '' || s === '.') continue; if (s === '..' && out.length && out[out.length - 1] !== '..') out.pop(); else if (s !== '..' || !abs) out.push(s); }
  return (abs ? '/' : '') + out.join('/') || (abs ? '/' : '.'); };
export const sep = '/';
export const join = (...parts) => norm(parts.filter((p) => p !== '').join('/'));
export const resolve = (...parts) => norm(parts.reduce((acc, p) => (p.startsWith('/') ? p : acc + '/' + p), '/'));
export const dirname = (p) => { const i = norm(p).lastIndexOf('/'); return i < 0 ? '.' : i === 0 ? '/' : norm(p).slice(0, i); };
export const basename = (p, ext) => { const b = norm(p).split('/').pop(); return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b; };
export const extname = (p) => { const b = basename(p); const i = b.lastIndexOf('.'); return i > 0 ? b.slice(i) : ''; };
export const relative = (from, to) => { const a = resolve(from).split('/').filter(Boolean), b = resolve(to).split('/').filter(Boolean); let i = 0; while (i < a.length && a[i] === b[i]) i++; return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/'); };
export const isAbsolute = (p) => p.startsWith('/');
export const posix = { sep, join, resolve, dirname, basename, extname, relative, isAbsolute };
export default posix;
`;

/** A module whose every export throws when called: the name of a Node API the page reached. */
function unavailable(name: string): string {
  const require = createRequire(import.meta.url);
  const real = require(name) as Record<string, unknown>;
  const names = Object.keys(real).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
  // CommonJS, so both `import { x } from 'fs'` and a bundled package's `require('events')` (a
  // class it extends at load time) get something: a constructor that throws, holding the functions.
  return [
    `const fail = (what) => function () { throw new Error(what + ' is a Node API: not available in the browser (examples/browser/build.ts)'); };`,
    `module.exports = Object.assign(fail(${JSON.stringify(name)}), {`,
    ...names.map((k) => `  ${k}: fail(${JSON.stringify(`${name}.${k}`)}),`),
    `});`,
  ].join('\n');
}

const nodeShims: Plugin = {
  name: 'node-shims',
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'node-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'node-shim' }, (args) => ({ contents: args.path === 'path' || args.path === 'path/posix' ? POSIX_PATH : unavailable(args.path), loader: 'js' }));
  },
};

export async function buildBrowserBundle(outDir = join(HERE, 'dist')): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(HERE, 'app.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['distillery-source'],
    plugins: [nodeShims],
    // Loaded lazily and only in Node (Dawn's binding, tfjs-node); never reached in a page.
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    sourcemap: false,
  });
  // The wasm backend fetches its binaries from beside the page (setWasmPaths('./')).
  const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')); // dist/, beside the .wasm files
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDist, f), join(outDir, f));
  copyFileSync(join(HERE, 'index.html'), join(outDir, 'index.html'));
  return outDir;
}

if (resolve(process.argv[1] ?? '') === fileURLToPath(import.meta.url)) {
  const out = await buildBrowserBundle(process.argv[2]);
  console.log(`[browser] bundle written to ${out}`);
}
