/**
 * Model resolution: a local folder, or a hub id looked up in the standard Hugging Face cache
 * (`models--org--name/refs/<revision>` → `snapshots/<sha>/`), downloading into that same
 * layout when online. Python's `huggingface_hub` and this resolver share one cache.
 */
import { defaultFileStore, exists, joinPath, platform, readText, type FileStore } from '@distillery/storage';
import { DistilleryModelsError, requirePathArgument } from './errors.js';

export interface ResolveOptions {
  /** Hub cache root; default `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Branch, tag or commit sha (default `main`). */
  revision?: string;
  /** Never touch the network (also forced by `HF_HUB_OFFLINE=1`). */
  localFilesOnly?: boolean;
  /** Where folders and the cache are read (default: the file system in Node, OPFS in a browser). */
  store?: FileStore;
}

/** Files a model folder needs, config.json last: its presence marks a snapshot as usable. */
const MODEL_FILES = ['model.safetensors', 'config.json'];
/** The tokenizer files HF's `save_pretrained` writes: fetched (first) when the repo has them, and what AutoTokenizer.savePretrained copies. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/** The hub cache root, honouring the same environment variables as `huggingface_hub`. */
export function hubCacheDir(cacheDir?: string, store: FileStore = defaultFileStore()): string {
  const { env, homeDir } = platform();
  const hubCache = cacheDir || env('HF_HUB_CACHE');
  if (hubCache) return store.absolute(hubCache);
  const home = env('HF_HOME');
  if (home) return joinPath(store.absolute(home), 'hub');
  return joinPath(homeDir, '.cache', 'huggingface', 'hub');
}

/** `org/name` → `<cache>/models--org--name`. */
export function repoCacheDir(repoId: string, cacheDir?: string, store?: FileStore): string {
  return joinPath(hubCacheDir(cacheDir, store), `models--${repoId.split('/').join('--')}`);
}

function isTruthyEnv(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

/** A hub id is `name` or `org/name` made of HF's allowed characters; anything else is a path. */
function looksLikeHubId(s: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(s) && !s.includes('..') && !s.startsWith('.');
}

/** The snapshot folder for `revision` when it is cached with a config.json, else undefined. */
async function cachedSnapshot(store: FileStore, repoDir: string, revision: string): Promise<string | undefined> {
  const refFile = joinPath(repoDir, 'refs', revision);
  // A ref names a commit; a revision that already is a commit sha has no ref file.
  const sha = (await exists(store, refFile)) ? (await readText(store, refFile)).trim() : revision;
  const snapshot = joinPath(repoDir, 'snapshots', sha);
  return (await exists(store, joinPath(snapshot, 'config.json'))) ? snapshot : undefined;
}

/**
 * Resolve `idOrPath` to a folder holding `config.json` (and weights).
 * A path that exists is used as is; otherwise it is a hub id, served from the cache or downloaded.
 */
export async function resolveModelDir(idOrPath: string, options: ResolveOptions = {}): Promise<string> {
  requirePathArgument(idOrPath, 'fromPretrained');
  const store = options.store ?? defaultFileStore();
  const found = await store.stat(idOrPath);
  if (found?.kind === 'file') {
    throw new DistilleryModelsError('CONFIG_MISSING', `${store.absolute(idOrPath)}: is a file; pass the model folder that holds config.json and model.safetensors.`);
  }
  if (found) {
    const dir = store.absolute(idOrPath);
    if (!(await exists(store, joinPath(dir, 'config.json')))) {
      throw new DistilleryModelsError('CONFIG_MISSING', `${dir}: no config.json in this model folder. Point at a folder written by savePretrained() / save_pretrained(), or pass a hub id.`);
    }
    return dir;
  }
  if (!looksLikeHubId(idOrPath)) {
    throw new DistilleryModelsError('HUB_NOT_FOUND', `${idOrPath}: no such folder, and not a hub id (expected "org/name" or "name"). Check the path.`);
  }

  const revision = options.revision ?? 'main';
  const repoDir = repoCacheDir(idOrPath, options.cacheDir, store);
  const cached = await cachedSnapshot(store, repoDir, revision);
  if (cached) return cached;

  const offline = options.localFilesOnly === true || isTruthyEnv(platform().env('HF_HUB_OFFLINE'));
  const howToFix =
    `Download it where you are online (e.g. \`huggingface-cli download ${idOrPath}\`) and copy ${repoDir} into this cache, ` +
    `or set HF_HUB_CACHE to a cache that has it, or pass a local folder instead.`;
  if (offline) {
    throw new DistilleryModelsError('HUB_OFFLINE', `${idOrPath}@${revision}: not in the Hugging Face cache (searched ${repoDir}) and offline mode is on (localFilesOnly or HF_HUB_OFFLINE=1). ${howToFix}`);
  }
  return download(store, idOrPath, revision, hubCacheDir(options.cacheDir, store), repoDir, howToFix);
}

/**
 * Fetch the model files into the HF cache layout via @huggingface/hub (imported lazily: offline use never loads it).
 * Not `snapshotDownload`: that pulls every file of the repo (PyTorch, TF, ONNX weights too).
 * @huggingface/hub writes the files with Node's fs, so downloading needs Node (in a browser it fails as HUB_OFFLINE).
 */
async function download(store: FileStore, repoId: string, revision: string, cacheDir: string, repoDir: string, howToFix: string): Promise<string> {
  const hub = await import('@huggingface/hub');
  const hubUrl = platform().env('HF_ENDPOINT');
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
    for (const path of [...TOKENIZER_FILES.filter((f) => listed.has(f)), ...MODEL_FILES]) {
      await hub.downloadFileToCacheDir({ repo: { type: 'model', name: repoId }, path, revision: sha, cacheDir, hubUrl });
    }
  } catch (cause) {
    throw unreachable(cause);
  }
  // The ref goes last: a download killed halfway leaves no ref, so the next call fetches again.
  if (revision !== sha) {
    await store.mkdir(joinPath(repoDir, 'refs'));
    await store.writeFile(joinPath(repoDir, 'refs', revision), sha);
  }
  return joinPath(repoDir, 'snapshots', sha);
}
