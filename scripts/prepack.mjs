// `prepack` of every publishable package (cwd: the package): build it and the packages it
// references to dist/ with `tsc -b`, and copy the repository's LICENSE beside its package.json,
// so `pnpm pack` / `npm pack` always ship compiled code and the licence text.
import { spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-b'], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
copyFileSync(new URL('../LICENSE', import.meta.url), 'LICENSE');
