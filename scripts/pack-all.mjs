// `pnpm pack:all`: every publishable workspace package as a tarball in packages-dist/, built by
// its prepack. pnpm turns `workspace:*` into the bare version, which no registry has; here each
// @distillery/* dependency is rewritten to `file:` the sibling tarball, so the set installs from
// local files (`npm install packages-dist/*.tgz`) without any registry lookup for our own names.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'packages-dist');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT);

const packages = readdirSync(join(ROOT, 'packages'))
  .map((dir) => ({ dir: join(ROOT, 'packages', dir), manifest: JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);
// npm names a tarball <scope>-<name>-<version>.tgz.
const tarballOf = (name, version) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;
const local = new Map(packages.map(({ manifest }) => [manifest.name, tarballOf(manifest.name, manifest.version)]));

for (const { dir } of packages) execFileSync('pnpm', ['pack', '--pack-destination', OUT], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });

for (const [name, tarball] of local) {
  const file = join(OUT, tarball);
  const work = mkdtempSync(join(tmpdir(), 'distillery-pack-'));
  try {
    execFileSync('tar', ['-xzf', file, '-C', work]);
    const manifestFile = join(work, 'package', 'package.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      const sibling = local.get(dep);
      if (sibling) manifest.dependencies[dep] = `file:${join(OUT, sibling)}`;
    }
    writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    execFileSync('tar', ['-czf', file, '-C', work, 'package']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`${name} → packages-dist/${tarball}`);
}
