/**
 * The README's "Use it in your project", run as written: `pnpm pack:all`, then the README's
 * command block line by line in a scratch npm project in the OS temp dir (outside the workspace)
 * holding examples/consumer/. Installs skip install scripts, as pnpm and yarn consumers do by
 * default, so the native backend can only come from the prebuilt addon in the tarball.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'distillery-consumer-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The lines of the bash block the README announces this test runs. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- test\/packaging\/consumer\.test\.ts runs[^>]*-->\n```bash\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md: the "Use it in your project" command block (with its marker comment) is missing');
  return block[1]!.trim().split('\n');
}

interface Ran { line: string; status: number | null; stdout: string; out: string }
const ran: Ran[] = [];
const step = (prefix: string): Ran => {
  const r = ran.find((x) => x.line.startsWith(prefix));
  if (!r) throw new Error(`no README command starts with "${prefix}"`);
  return r;
};

/** OpenBLAS's runtime library is what the prebuilt addon links. */
const hasOpenBlas = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout?.includes('libopenblas.so.0') ?? false;

beforeAll(() => {
  execFileSync('pnpm', ['pack:all'], { cwd: ROOT, stdio: 'pipe' });
  writeFileSync(join(scratch, 'package.json'), `${JSON.stringify({ name: 'my-project', private: true, type: 'module' }, null, 2)}\n`);
  for (const file of ['distill.ts', 'tsconfig.json', 'distill.yaml']) copyFileSync(join(ROOT, 'examples/consumer', file), join(scratch, file));
  const env = { ...process.env, DISTILLERY: ROOT, npm_config_ignore_scripts: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' };
  for (const line of readmeCommands()) {
    const r = spawnSync('bash', ['-c', line], { cwd: scratch, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    ran.push({ line, status: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` });
    // Anything after a failed install would only report the same failure again.
    if (line.startsWith('npm install') && r.status !== 0) throw new Error(`${line}\n${r.stdout}${r.stderr}`);
  }
}, 600_000);

describe('installed from the packed tarballs with npm, outside the workspace', () => {
  it('ships compiled code, declarations, LICENSE and README, with no workspace or unpublished version ranges', () => {
    for (const name of readdirSync(join(scratch, 'node_modules/@distillery'))) {
      const dir = join(scratch, 'node_modules/@distillery', name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: { '.': Record<string, string> }; dependencies?: Record<string, string> };
      for (const condition of ['types', 'import', 'default'] as const) expect(existsSync(join(dir, manifest.exports['.'][condition]!)), `${name} ${condition}`).toBe(true);
      for (const file of ['LICENSE', 'README.md']) expect(existsSync(join(dir, file)), `${name}/${file}`).toBe(true);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) {
        if (dep.startsWith('@distillery/')) expect(range, `${name} → ${dep}`).toMatch(/^file:.*\.tgz$/);
      }
    }
    expect(readdirSync(join(scratch, 'node_modules/@distillery')).sort()).toEqual(['backends', 'cli', 'models', 'native', 'plugins', 'storage', 'trainer']);
  });

  it('has exactly one tfjs engine and one tsyringe', () => {
    const copies = (pkg: string) => execFileSync('find', ['node_modules', '-path', `*/node_modules/${pkg}/package.json`], { cwd: scratch, encoding: 'utf8' }).trim().split('\n');
    expect(copies('@tensorflow/tfjs-core')).toHaveLength(1);
    expect(copies('tsyringe')).toHaveLength(1);
  });

  it('typechecks a strict client with no error in @distillery/* or the client (tfjs 4.22 has its own)', () => {
    const { out } = step('npx tsc');
    const errors = out.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !l.startsWith('node_modules/@tensorflow/')), out).toEqual([]);
  });

  it('trains 20 steps with logit KD + hidden + attention + a root-container plugin, saves, reloads identically, without tensor growth', () => {
    const { status, stdout, out } = step('node dist/distill.js');
    expect(status, out).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ steps: 20, tensorGrowth: 0, sameTensorClass: true, identicalLogits: true });
    // The root container's plugin was picked up next to the three passed in `plugins`.
    expect(summary['terms']).toEqual(expect.arrayContaining(['loss/pooledRelation', 'loss/kd', 'loss/hidden', 'loss/attention']));
    expect(Number.isFinite(summary['loss'])).toBe(true);
    expect(out).not.toMatch(/already registered/);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json', 'training_args.json']) expect(existsSync(join(scratch, 'runs/student', file)), file).toBe(true);
    // Install scripts were skipped: a native backend here is the tarball's prebuilt addon.
    expect(existsSync(join(scratch, 'node_modules/@distillery/native/build'))).toBe(false);
    if (hasOpenBlas) expect(summary['backend']).toBe('native');
    else expect(out).toMatch(/backend=wasm .*libopenblas/);
  });

  it('says in the one backend line why native is not used when the OpenBLAS runtime cannot load', () => {
    // A stand-in libopenblas.so.0 first on the library path: the prebuilt addon finds it unloadable.
    const libs = join(scratch, 'broken-openblas');
    mkdirSync(libs);
    writeFileSync(join(libs, 'libopenblas.so.0'), '');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import { initBackend } from '@distillery/backends'; await initBackend();"], { cwd: scratch, env: { ...process.env, LD_LIBRARY_PATH: libs }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = `${r.stdout}${r.stderr}`.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[distillery\] backend=wasm .*native addon .* needs the OpenBLAS runtime \(Debian: apt-get install -y libopenblas0\)/);
  });

  it('runs `npx distillery distill` from the installed bin on a tiny config', () => {
    const { status, out } = step('npx distillery distill');
    expect(status, out).toBe(0);
    expect(existsSync(join(scratch, 'runs/cli-student/config.json')), out).toBe(true);
    const help = spawnSync('npx', ['distillery', '--help'], { cwd: scratch, encoding: 'utf8' });
    expect(help.stdout).toMatch(/^Usage: distillery /);
    expect(help.stdout).toMatch(/^\s+distill \[options\]/m);
    // The demo ships with the repository only: one line saying so, no stack trace.
    const demo = spawnSync('npx', ['distillery', 'demo'], { cwd: scratch, encoding: 'utf8' });
    expect(demo.status).toBe(1);
    expect(demo.stderr.trim().split('\n').filter((l) => l.startsWith('error ['))).toEqual([expect.stringMatching(/^error \[CLI_USAGE\]: `distillery demo` runs examples\/demo of the distillery repository, which an installed copy does not include/)]);
    expect(demo.stderr).not.toMatch(/\n\s+at /);
  });
});
