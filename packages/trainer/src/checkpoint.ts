/**
 * Checkpoints `outputDir/checkpoint-<step>/`: the model (its own savePretrained), optimizer and
 * extra trainable variables (tf.io.encodeWeights: <name>.json manifest + <name>.bin), scheduler,
 * trainer state and data position. Written into a temp folder, fsynced, then renamed into place:
 * a crash leaves either the whole checkpoint or none of it. All I/O goes through a FileStore (the
 * file system in Node, the Origin Private File System in a browser).
 */
import * as tf from '@tensorflow/tfjs';
import { defaultFileStore, exists, joinPath, platform, type FileStore } from '@distillery/storage';
import type { DataLoaderState } from './data/dataloader.js';
import { DistilleryTrainerError } from './errors.js';
import type { TrainableModel } from './model.js';
import type { OptimizerState } from './optimizer.js';
import type { LrSchedulerState } from './schedules.js';
import type { TrainerState } from './state.js';

export const CHECKPOINT_PREFIX = 'checkpoint-';
const TEMP_PREFIX = '.tmp-checkpoint-';
const OLD_PREFIX = '.old-checkpoint-';
const FILES = {
  state: 'trainer_state.json',
  scheduler: 'scheduler.json',
  rng: 'rng_state.json',
  args: 'training_args.json',
  runConfig: 'run_config.json',
  optimizer: 'optimizer',
  variables: 'trainer_variables',
} as const;

export interface RngStateFile {
  seed: number;
  dataLoader: DataLoaderState;
  /** The data collator's random state (masked LM's masks), when it draws random numbers. */
  collator?: unknown;
}

export interface CheckpointData {
  trainerState: TrainerState;
  optimizer: OptimizerState;
  scheduler: LrSchedulerState;
  rng: RngStateFile;
  /** Trainable variables the trainer owns beyond the model (e.g. a distillation projector). */
  variables: Map<string, tf.Tensor>;
  args: Record<string, unknown>;
  /** What the caller says defines the run (e.g. the CLI config), so a resume can check it is the same run. */
  runConfig?: Record<string, unknown>;
}

async function writeTensors(store: FileStore, dir: string, base: string, tensors: Map<string, tf.Tensor>, meta: Record<string, unknown>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(tensors));
  await store.writeFile(joinPath(dir, `${base}.bin`), new Uint8Array(data));
  await store.writeFile(joinPath(dir, `${base}.json`), JSON.stringify({ ...meta, byteLength: data.byteLength, weightSpecs: specs }, null, 2));
}

/** The bytes of the checkpoint file `path`; a missing or unreadable one is a CHECKPOINT_INVALID naming it. */
async function readCheckpointFile(store: FileStore, path: string): Promise<Uint8Array> {
  if (!(await exists(store, path))) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${path} is missing; the checkpoint is incomplete, resume from another one.`);
  try {
    return await store.readFile(path);
  } catch (cause) {
    throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${path} cannot be read from ${store.where} (${(cause as Error).message}); check its permissions, or resume from another checkpoint.`, { cause });
  }
}

async function readJson<T>(store: FileStore, dir: string, file: string): Promise<T> {
  const path = joinPath(dir, file);
  const text = new TextDecoder().decode(await readCheckpointFile(store, path));
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${path} is not valid JSON; the checkpoint is corrupt, resume from another one.`, { cause });
  }
}

async function readTensors(store: FileStore, dir: string, base: string): Promise<{ meta: Record<string, unknown>; tensors: Map<string, tf.Tensor> }> {
  const meta = await readJson<{ byteLength: number; weightSpecs: tf.io.WeightsManifestEntry[] } & Record<string, unknown>>(store, dir, `${base}.json`);
  const binPath = joinPath(dir, `${base}.bin`);
  const bytes = await readCheckpointFile(store, binPath);
  if (bytes.byteLength !== meta.byteLength || !Array.isArray(meta.weightSpecs)) {
    throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${binPath} has ${bytes.byteLength} bytes but ${base}.json expects ${meta.byteLength}; the checkpoint is corrupt, resume from another one.`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const { weightSpecs, byteLength: _, ...rest } = meta;
  return { meta: rest, tensors: new Map(Object.entries(tf.io.decodeWeights(buffer, weightSpecs))) };
}

/** Write a checkpoint atomically into `store`; returns its folder. An existing checkpoint of the same step is replaced. */
export async function writeCheckpoint(outputDir: string, model: TrainableModel, data: CheckpointData, store: FileStore = defaultFileStore()): Promise<string> {
  const step = data.trainerState.globalStep;
  const name = `${CHECKPOINT_PREFIX}${step}`;
  const final = joinPath(outputDir, name);
  const { processId } = platform();
  const tmp = joinPath(outputDir, `${TEMP_PREFIX}${step}-${processId}`);
  try {
    await store.mkdir(outputDir);
    await store.remove(tmp);
    await store.mkdir(tmp);
    await model.savePretrained(tmp, { store });
    await writeTensors(store, tmp, FILES.optimizer, data.optimizer.tensors, data.optimizer.config);
    await writeTensors(store, tmp, FILES.variables, data.variables, {});
    await store.writeFile(joinPath(tmp, FILES.scheduler), JSON.stringify(data.scheduler, null, 2));
    await store.writeFile(joinPath(tmp, FILES.rng), JSON.stringify(data.rng, null, 2));
    await store.writeFile(joinPath(tmp, FILES.args), JSON.stringify(data.args, null, 2));
    if (data.runConfig !== undefined) await store.writeFile(joinPath(tmp, FILES.runConfig), JSON.stringify(data.runConfig, null, 2));
    // trainer_state.json last: its presence is the sign every other file was written.
    await store.writeFile(joinPath(tmp, FILES.state), JSON.stringify(data.trainerState, null, 2));
    await store.sync(tmp, { tree: true });
    if (await exists(store, final)) {
      const old = joinPath(outputDir, `${OLD_PREFIX}${step}-${processId}`);
      await store.rename(final, old);
      await store.rename(tmp, final);
      await store.remove(old);
    } else {
      await store.rename(tmp, final);
    }
    await store.sync(outputDir);
  } catch (cause) {
    await store.remove(tmp).catch(() => undefined);
    throw new DistilleryTrainerError('WRITE_FAILED', `could not write checkpoint ${final}: ${(cause as Error).message}; check free disk space and permissions of outputDir.`, { cause });
  }
  return final;
}

/** Read and validate every trainer-side file of a checkpoint (the model is loaded by the caller). */
export async function readCheckpoint(dir: string, store: FileStore = defaultFileStore()): Promise<CheckpointData> {
  if ((await store.stat(dir))?.kind !== 'directory') throw new DistilleryTrainerError('CHECKPOINT_MISSING', `checkpoint folder ${dir} does not exist; pass a checkpoint-<step> folder, or true for the newest in outputDir.`);
  const required = [FILES.state, FILES.scheduler, FILES.rng, FILES.args, ...[FILES.optimizer, FILES.variables].flatMap((b) => [`${b}.json`, `${b}.bin`])];
  const present = new Set(await store.list(dir));
  const missing = required.filter((f) => !present.has(f));
  if (missing.length > 0) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir} is incomplete: ${missing.join(', ')} missing; resume from another checkpoint.`);
  const optimizer = await readTensors(store, dir, FILES.optimizer);
  return {
    trainerState: await readJson<TrainerState>(store, dir, FILES.state),
    optimizer: { config: optimizer.meta, tensors: optimizer.tensors },
    scheduler: await readJson<LrSchedulerState>(store, dir, FILES.scheduler),
    rng: await readJson<RngStateFile>(store, dir, FILES.rng),
    variables: await readTrainerVariables(dir, store),
    args: await readJson<Record<string, unknown>>(store, dir, FILES.args),
  };
}

/** The `runConfig` a checkpoint was written with, or undefined when its trainer was given none. */
export async function readRunConfig(dir: string, store: FileStore = defaultFileStore()): Promise<Record<string, unknown> | undefined> {
  return (await exists(store, joinPath(dir, FILES.runConfig))) ? readJson<Record<string, unknown>>(store, dir, FILES.runConfig) : undefined;
}

/** The extra trainable variables saved with a checkpoint (caller disposes). */
export async function readTrainerVariables(dir: string, store: FileStore = defaultFileStore()): Promise<Map<string, tf.Tensor>> {
  return (await readTensors(store, dir, FILES.variables)).tensors;
}

/** Complete checkpoints in `outputDir`, oldest step first. */
export async function listCheckpoints(outputDir: string, store: FileStore = defaultFileStore()): Promise<{ step: number; dir: string }[]> {
  const found = (await store.list(outputDir))
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: joinPath(outputDir, m[0]) }));
  const complete = await Promise.all(found.map((c) => exists(store, joinPath(c.dir, FILES.state))));
  return found.filter((_, i) => complete[i]).sort((a, b) => a.step - b.step);
}

export async function latestCheckpoint(outputDir: string, store: FileStore = defaultFileStore()): Promise<string | undefined> {
  return (await listCheckpoints(outputDir, store)).at(-1)?.dir;
}

/** Remove what a killed writer left behind; put back a checkpoint caught between its two renames. */
export async function cleanStaleCheckpointTemps(outputDir: string, store: FileStore = defaultFileStore()): Promise<void> {
  for (const name of await store.list(outputDir)) {
    const old = new RegExp(`^${OLD_PREFIX.replace('.', '\\.')}(\\d+)-\\d+$`).exec(name);
    const restored = old && joinPath(outputDir, `${CHECKPOINT_PREFIX}${old[1]}`);
    if (restored && !(await exists(store, restored))) await store.rename(joinPath(outputDir, name), restored);
    else if (old || name.startsWith(TEMP_PREFIX)) await store.remove(joinPath(outputDir, name));
  }
}

/**
 * Keep at most `limit` checkpoints, deleting the oldest first, but never the best one nor the
 * newest (the one resume needs); so with limit 1 and an older best, two remain (as HF).
 */
export async function rotateCheckpoints(outputDir: string, limit: number, bestDir: string | null, store: FileStore = defaultFileStore()): Promise<void> {
  const all = await listCheckpoints(outputDir, store);
  const newest = all.at(-1)?.dir;
  const deletable = all.filter((c) => c.dir !== bestDir && c.dir !== newest);
  const excess = Math.max(0, all.length - limit);
  for (const c of deletable.slice(0, excess)) await store.remove(c.dir);
}
