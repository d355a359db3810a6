/**
 * Bundle examples/browser/app.ts (models + trainer + plugins + storage + tfjs webgpu/wasm) for the
 * browser with esbuild, into examples/browser/dist/ beside index.html's expectations.
 *
 *   pnpm --filter @distillery/examples exec tsx --conditions=distillery-source browser/build.ts [outDir]
 *
 * Our packages reach files only through @distillery/storage, whose `browser` export condition
 * (esbuild adds it for platform 'browser') is the Origin Private File System and imports no
 * `node:` module; Node-only helpers (synchronous readers, backend probing, the native addon) sit
 * in files the page never calls, which tree shaking drops. The build FAILS when a `node:` module
 * imported by workspace code is still in the bundle, naming the file, so a regression is caught
 * here and not as a runtime error in a page.
 *
 * Third-party packages that guard their own Node paths at run time (tfjs-core's Node platform,
 * the emscripten loader of tfjs-backend-wasm, seedrandom, protobufjs, @huggingface/hub's file
 * writer, cli-progress) still import builtins; those resolve to a module whose every function
 * throws a one-line "not in the browser" error, so a Node-only path reached from the page fails
 * loudly instead of silently.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { builtinModules, createRequire } from 'node:module';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../..');
const BUILTIN = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
const THIRD_PARTY = /[\\/]node_modules[\\/]/;

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

/** Builtins: third-party importers get the throwing module; workspace importers stay external, for the check below. */
const nodeBuiltins: Plugin = {
  name: 'node-builtins',
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) => (THIRD_PARTY.test(args.importer) ? { path: args.path.replace(/^node:/, ''), namespace: 'node-shim' } : { path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'node-shim' }, (args) => ({ contents: unavailable(args.path), loader: 'js' }));
  },
};

/** `file imports node:x` for every builtin a workspace file still in the bundle (after tree shaking) imports. */
export function nodeImportsInBundle(metafile: Metafile): string[] {
  const included = new Set(Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs)));
  return Object.entries(metafile.inputs)
    .filter(([file]) => included.has(file))
    .flatMap(([file, info]) => info.imports.filter((i) => i.external && BUILTIN.test(i.path)).map((i) => `${relative(ROOT, resolve(file))} imports ${i.path}`));
}

export async function buildBrowserBundle(outDir = join(HERE, 'dist')): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(HERE, 'app.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['distillery-source'],
    plugins: [nodeBuiltins],
    metafile: true,
    // Loaded lazily and only in Node (Dawn's binding, tfjs-node); never reached in a page.
    external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    sourcemap: false,
  });
  const reached = nodeImportsInBundle(result.metafile);
  if (reached.length > 0) {
    throw new Error(`examples/browser/build.ts: the browser bundle reaches Node-only modules from workspace code:\n  ${reached.join('\n  ')}\nroute that I/O through @distillery/storage (FileStore), or move the Node-only code into a file the page does not call.`);
  }
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
