/**
 * The output-path policy of every command that writes (train, distill, eval --json, forward --out,
 * export, cache-teacher). A command checks each destination BEFORE any model loads, then writes
 * through `writeFileAtomic` / `replaceFilesAtomic`, so a bad path costs nothing and a failed write
 * (full disk, permissions) leaves what was there before untouched. Every refusal and every I/O
 * failure is one `DistilleryCliError` line naming the flag or config field and the path.
 *
 *   const out = checkOutputFile(flags.out, { where: `--out ${flags.out}`, inputs: [{ role: 'model', path: modelDir }], isReport: (j) => 'logits' in j });
 *   const dir = checkOutputDir(args.outputDir, { where: f.where('training.outputDir'), inputs, overwrite: args.overwriteOutputDir });
 *   ... work ...
 *   writeFileAtomic(out, json);
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { DistilleryCliError } from './errors.js';
import { writeDurably } from '@distillery/storage';

/** A path the command reads: writing there, or inside it, would destroy the input. */
export interface InputPath {
  /** What it is to the user: "teacher", "model", "tokenizer", "data.train", "--inputs". */
  role: string;
  path: string;
}

export interface OutputCheck {
  /** How the user named the destination, for messages: `--json out.json`, `cfg.yaml: training.outputDir`. */
  where: string;
  /** Everything the command reads; a destination equal to or inside one of them is refused. */
  inputs?: readonly InputPath[];
}

/**
 * Files of an HF model / tokenizer folder or checkpoint. An existing one is never replaced by a
 * report (`--json`, `--out`): pointing a report at `model.safetensors` is a slip, not a request.
 */
const MODEL_FILES = new Set([
  'config.json', 'model.safetensors', 'pytorch_model.bin', 'tf_model.h5', 'tokenizer.json', 'tokenizer_config.json',
  'special_tokens_map.json', 'vocab.txt', 'merges.txt', 'vocab.json', 'trainer_state.json', 'training_args.json',
  'scheduler.json', 'rng_state.json', 'optimizer.bin', 'optimizer.json', 'generation_config.json',
]);

function refuse(check: OutputCheck, message: string, cause?: unknown): never {
  throw new DistilleryCliError('OUTPUT_PATH_INVALID', `${check.where}: ${message}`, { cause });
}

/** `path` with symlinks of its existing part resolved, so `out -> teacher/` is seen for what it is. */
function canonical(path: string): string {
  const abs = resolve(path);
  const rest: string[] = [];
  let head = abs;
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const parent = dirname(head);
      if (parent === head) return abs;
      rest.push(basename(head));
      head = parent;
    }
  }
}

const isWithin = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
};

/** The nearest existing ancestor of `path` must be a folder (not a file: ENOTDIR later) we can write in. */
function checkParent(path: string, check: OutputCheck): void {
  let head = dirname(resolve(path));
  while (!existsSync(head)) head = dirname(head);
  if (!statSync(head).isDirectory()) refuse(check, `${path} lies under ${head}, which is a file, not a folder; choose a path in a folder.`);
  probeWritable(head, check);
}

/**
 * Create and remove a folder in `dir`: the only test that answers for root (who passes every
 * permission check), read-only mounts (EROFS) and pseudo file systems like /proc, where Node's
 * recursive mkdir would otherwise spin forever on ENOENT.
 */
function probeWritable(dir: string, check: OutputCheck): void {
  try {
    rmSync(mkdtempSync(join(dir, '.distillery-probe-')), { recursive: true });
  } catch (cause) {
    refuse(check, `cannot create files in ${dir} (${systemErrorReason(cause) ?? (cause as Error).message}); choose a folder you can write to.`, cause);
  }
}

function checkInputs(path: string, check: OutputCheck): void {
  const target = canonical(path);
  for (const input of check.inputs ?? []) {
    const source = canonical(input.path);
    if (!existsSync(source)) continue; // a hub id or a file not yet made: nothing on disk to destroy
    const folder = statSync(source).isDirectory();
    if (folder ? isWithin(target, source) : target === source) {
      refuse(check, `${path} is ${target === source ? '' : 'inside '}the ${input.role} ${folder ? 'folder' : 'file'} ${input.path}, which this command reads; writing there would destroy it. Choose another path.`);
    }
  }
}

/**
 * Check a file the command will write (a report): not a folder, not under a file, not an input
 * nor inside an input folder, parent writable. An existing file is replaced only when it is a
 * JSON document `isReport` recognises as this command's own earlier output (and not a model
 * folder's file); anything else (weights, a config.json, a package.json, a dataset) is refused.
 * Returns the absolute path.
 */
export function checkOutputFile(path: string, check: OutputCheck & { isReport: (json: Record<string, unknown>) => boolean }): string {
  const abs = resolve(path);
  checkInputs(abs, check);
  if (existsSync(abs)) {
    const stat = statSync(abs);
    if (stat.isDirectory()) refuse(check, `${path} is a folder; name a file, e.g. ${join(path, 'results.json')}.`);
    if (!stat.isFile()) refuse(check, `${path} exists and is not a regular file; name a new file.`);
    if (MODEL_FILES.has(basename(abs))) refuse(check, `${path} already exists and is a model/tokenizer file; it would be overwritten. Name a new file.`);
    if (!isReportFile(abs, check.isReport)) refuse(check, `${path} already exists and is not a report this command wrote; it would be overwritten. Delete it or name a new file.`);
  }
  checkParent(abs, check);
  return abs;
}

function isReportFile(path: string, isReport: (json: Record<string, unknown>) => boolean): boolean {
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return typeof json === 'object' && json !== null && !Array.isArray(json) && isReport(json as Record<string, unknown>);
  } catch {
    return false;
  }
}

/**
 * Check a run's output folder (checkpoints + the final model): not a file, not under a file, not
 * an input folder nor inside one, parent writable; and empty unless `overwrite` (HF's
 * `overwrite_output_dir`) or `resuming` (its checkpoints are what the run continues from), as HF's
 * scripts refuse a non-empty output_dir. `overwriteFlag` is the flag the refusal offers (default
 * --overwrite-output-dir; null for a command that never writes over files); entries matching
 * `ownFiles` are the command's own and don't count. Returns the absolute path.
 */
export function checkOutputDir(dir: string, check: OutputCheck & { overwrite: boolean; resuming?: boolean; overwriteFlag?: string | null; ownFiles?: RegExp }): string {
  const abs = resolve(dir);
  checkInputs(abs, check);
  if (existsSync(abs)) {
    if (!statSync(abs).isDirectory()) refuse(check, `${dir} is a file, not a folder; name a folder (new or empty).`);
    // Files of this command's own kind (other shard jobs' output) don't make the folder foreign.
    const entries = readdirSync(abs).filter((name) => !check.ownFiles?.test(name));
    if (entries.length > 0 && !check.overwrite && !check.resuming) {
      const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', ...' : '');
      const flag = check.overwriteFlag === undefined ? '--overwrite-output-dir' : check.overwriteFlag;
      refuse(check, `${dir} is not empty (${shown}); writing there would replace or mix with those files. Choose a new folder${flag === null ? '' : `, or pass ${flag} to write over it`}.`);
    }
    probeWritable(abs, check);
  } else {
    checkParent(abs, check);
  }
  return abs;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full; free space or write elsewhere',
  EDQUOT: 'the disk quota is exhausted; free space or write elsewhere',
  EACCES: 'permission denied; choose a path you can write to',
  EPERM: 'operation not permitted; choose a path you can write to',
  EROFS: 'the file system is read-only; write elsewhere',
  ENOTDIR: 'a part of the path is a file, not a folder; choose a path in a folder',
  EISDIR: 'it is a folder, not a file; name a file',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
  EIO: 'an I/O error from the device',
};

/** A Node system error (`code` like ENOSPC) as a short reason, or undefined for anything else. */
export function systemErrorReason(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) return undefined;
  return `${code}: ${REASONS[code] ?? (e as Error).message}`;
}

/** A failed write of `path` as one typed line (WRITE_FAILED); non-system errors pass through. */
export function writeFailed(path: string, e: unknown): Error {
  const reason = systemErrorReason(e);
  if (reason === undefined) return e as Error;
  return new DistilleryCliError('WRITE_FAILED', `could not write ${path} (${reason}); nothing was replaced.`, { cause: e });
}

/** Write to a temp file beside `path`, fsync, rename over it: readers see the old or the new file, never half of one. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeDurably(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw writeFailed(path, e);
  }
}

/**
 * Write a set of files into `dir` as a unit: `fill(staging)` writes them into a temp folder inside
 * `dir`, then each is renamed over its namesake. A failure while filling (disk full mid-weights)
 * leaves every existing file in `dir` as it was.
 */
export async function replaceFilesAtomic(dir: string, fill: (staging: string) => Promise<void> | void): Promise<void> {
  const staging = join(dir, `.staging-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging);
    await fill(staging);
    for (const name of readdirSync(staging)) renameSync(join(staging, name), join(dir, name));
  } catch (e) {
    throw writeFailed(dir, e);
  } finally {
    removeQuietly(staging);
  }
}

/** Clean-up after a failed write must not hide the write's own error (rm of a path under a file throws ENOTDIR). */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // nothing was created there
  }
}
