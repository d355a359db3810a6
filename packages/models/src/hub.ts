/**
 * Model resolution: a local folder, or a hub id looked up in the standard Hugging Face cache
 * (`models--org--name/refs/<revision>` → `snapshots/<sha>/`), downloading into that same
 * layout when online. Python's `huggingface_hub` and this resolver share one cache.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DistilleryModelsError } from './errors.js';

export interface ResolveOptions {
  /** Hub cache root; default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Branch, tag or commit sha (default `main`). */
  revision?: string;
  /** Never touch the network (also forced by `HF_HUB_OFFLINE=1`). */
  localFilesOnly?: boolean;
}

/** Files a model folder needs, config.json last: its presence marks a snapshot as usable. */
const MODEL_FILES = ['model.safetensors', 'config.json'];
/** Fetched (first) when the repo has them. */
const OPTIONAL_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/** The hub cache root, honouring the same environment variables as `huggingface_hub`. */
export function hubCacheDir(cacheDir?: string): string {
  if (cacheDir) return resolve(cacheDir);
  if (process.env.HF_HUB_CACHE) return resolve(process.env.HF_HUB_CACHE);
  if (process.env.HF_HOME) return join(resolve(process.env.HF_HOME), 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}

/** `org/name` → `<cache>/models--org--name`. */
export function repoCacheDir(repoId: string, cacheDir?: string): string {
  return join(hubCacheDir(cacheDir), `models--${repoId.split('/').join('--')}`);
}

function isTruthyEnv(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

/** A hub id is `name` or `org/name` made of HF's allowed characters; anything else is a path. */
function looksLikeHubId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(s) && !s.includes('..') && !s.startsWith('.');
}

/** The snapshot folder for `revision` when it is cached with a config.json, else undefined. */
function cachedSnapshot(repoDir: string, revision: string): string | undefined {
  const refFile = join(repoDir, 'refs', revision);
  // A ref names a commit; a revision that already is a commit sha has no ref file.
  const sha = existsSync(refFile) ? readFileSync(refFile, 'utf8').trim() : revision;
  const snapshot = join(repoDir, 'snapshots', sha);
  return existsSync(join(snapshot, 'config.json')) ? snapshot : undefined;
}

/**
 * Resolve `idOrPath` to a folder holding `config.json` (and weights).
 * A path that exists is used as is; otherwise it is a hub id, served from the cache or downloaded.
 */
export async function resolveModelDir(idOrPath: string, options: ResolveOptions = {}): Promise<string> {
  if (existsSync(idOrPath) && !statSync(idOrPath).isDirectory()) {
    throw new DistilleryModelsError('CONFIG_MISSING', `${resolve(idOrPath)}: is a file; pass the model folder that holds config.json and model.safetensors.`);
  }
  if (existsSync(idOrPath)) {
    const dir = resolve(idOrPath);
    if (!existsSync(join(dir, 'config.json'))) {
      throw new DistilleryModelsError('CONFIG_MISSING', `${dir}: no config.json in this model folder. Point at a folder written by savePretrained() / save_pretrained(), or pass a hub id.`);
    }
    return dir;
  }
  if (!looksLikeHubId(idOrPath)) {
    throw new DistilleryModelsError('HUB_NOT_FOUND', `${idOrPath}: no such folder, and not a hub id (expected "org/name" or "name"). Check the path.`);
  }

  const revision = options.revision ?? 'main';
  const repoDir = repoCacheDir(idOrPath, options.cacheDir);
  const cached = cachedSnapshot(repoDir, revision);
  if (cached) return cached;

  const offline = options.localFilesOnly === true || isTruthyEnv(process.env.HF_HUB_OFFLINE);
  const howToFix =
    `Download it where you are online (e.g. \`huggingface-cli download ${idOrPath}\`) and copy ${repoDir} into this cache, ` +
    `or set HF_HUB_CACHE to a cache that has it, or pass a local folder instead.`;
  if (offline) {
    throw new DistilleryModelsError('HUB_OFFLINE', `${idOrPath}@${revision}: not in the Hugging Face cache (searched ${repoDir}) and offline mode is on (localFilesOnly or HF_HUB_OFFLINE=1). ${howToFix}`);
  }
  return download(idOrPath, revision, hubCacheDir(options.cacheDir), repoDir, howToFix);
}

/**
 * Fetch the model files into the HF cache layout via @huggingface/hub (imported lazily: offline use never loads it).
 * Not `snapshotDownload`: that pulls every file of the repo (PyTorch, TF, ONNX weights too).
 */
async function download(repoId: string, revision: string, cacheDir: string, repoDir: string, howToFix: string): Promise<string> {
  const hub = await import('@huggingface/hub');
  const hubUrl = process.env.HF_ENDPOINT;
  const unreachable = (cause: unknown): DistilleryModelsError => {
    if (cause instanceof hub.HubApiError && (cause.statusCode === 404 || cause.statusCode === 401)) {
      return new DistilleryModelsError('HUB_NOT_FOUND', `${repoId}@${revision}: the hub has no such model or revision (HTTP ${cause.statusCode}). Check the id and revision.`, { cause });
    }
    return new DistilleryModelsError('HUB_OFFLINE', `${repoId}@${revision}: not in the Hugging Face cache (searched ${repoDir}) and the download failed (${(cause as Error).message}). ${howToFix}`, { cause });
  };

  // Pin the revision to one commit so every file lands in the same snapshots/<sha>/ folder.
  let sha: string;
  const listed = new Set<string>();
  try {
    sha = (await hub.modelInfo({ name: repoId, revision, additionalFields: ['sha'], hubUrl })).sha;
    for await (const f of hub.listFiles({ repo: { type: 'model', name: repoId }, revision: sha, hubUrl })) listed.add(f.path);
  } catch (cause) {
    throw unreachable(cause);
  }
  const missing = MODEL_FILES.filter((f) => !listed.has(f));
  if (missing.length > 0) {
    throw new DistilleryModelsError('HUB_NOT_FOUND', `${repoId}@${revision}: the hub repo has no ${missing.join(', ')}. Only repos with a config.json and a single model.safetensors can be loaded.`);
  }
  try {
    for (const path of [...OPTIONAL_FILES.filter((f) => listed.has(f)), ...MODEL_FILES]) {
      await hub.downloadFileToCacheDir({ repo: { type: 'model', name: repoId }, path, revision: sha, cacheDir, hubUrl });
    }
  } catch (cause) {
    throw unreachable(cause);
  }
  // The ref goes last: a download killed halfway leaves no ref, so the next call fetches again.
  if (revision !== sha) {
    mkdirSync(join(repoDir, 'refs'), { recursive: true });
    writeFileSync(join(repoDir, 'refs', revision), sha);
  }
  return join(repoDir, 'snapshots', sha);
}
