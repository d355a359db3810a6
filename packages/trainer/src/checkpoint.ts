/**
 * Checkpoints `outputDir/checkpoint-<step>/`: the model (its own savePretrained), optimizer and
 * extra trainable variables (tf.io.encodeWeights: <name>.json manifest + <name>.bin), scheduler,
 * trainer state and data position. Written into a temp folder, fsynced, then renamed into place:
 * a crash leaves either the whole checkpoint or none of it.
 */
import * as tf from '@tensorflow/tfjs';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Write `data` to `path` and fsync it before returning (the atomic writers rename such a file into place). */
export function writeDurably(path: string, data: string | Uint8Array): void {
  const fd = openSync(path, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync every file (model files included) and folder under `dir`. */
function fsyncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else fsyncPath(p);
  }
  fsyncPath(dir);
}

async function writeTensors(dir: string, base: string, tensors: Map<string, tf.Tensor>, meta: Record<string, unknown>): Promise<void> {
  const { data, specs } = await tf.io.encodeWeights(Object.fromEntries(tensors));
  writeDurably(join(dir, `${base}.bin`), new Uint8Array(data));
  writeDurably(join(dir, `${base}.json`), JSON.stringify({ ...meta, byteLength: data.byteLength, weightSpecs: specs }, null, 2));
}

function readJson<T>(dir: string, file: string): T {
  const path = join(dir, file);
  if (!existsSync(path)) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${path} is missing; the checkpoint is incomplete, resume from another one.`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (cause) {
    throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${path} is not valid JSON; the checkpoint is corrupt, resume from another one.`, { cause });
  }
}

function readTensors(dir: string, base: string): { meta: Record<string, unknown>; tensors: Map<string, tf.Tensor> } {
  const meta = readJson<{ byteLength: number; weightSpecs: tf.io.WeightsManifestEntry[] } & Record<string, unknown>>(dir, `${base}.json`);
  const binPath = join(dir, `${base}.bin`);
  if (!existsSync(binPath)) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${binPath} is missing; the checkpoint is incomplete, resume from another one.`);
  const bytes = readFileSync(binPath);
  if (bytes.byteLength !== meta.byteLength || !Array.isArray(meta.weightSpecs)) {
    throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${binPath} has ${bytes.byteLength} bytes but ${base}.json expects ${meta.byteLength}; the checkpoint is corrupt, resume from another one.`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const { weightSpecs, byteLength: _, ...rest } = meta;
  return { meta: rest, tensors: new Map(Object.entries(tf.io.decodeWeights(buffer, weightSpecs))) };
}

/** Write a checkpoint atomically; returns its folder. An existing checkpoint of the same step is replaced. */
export async function writeCheckpoint(outputDir: string, model: TrainableModel, data: CheckpointData): Promise<string> {
  const step = data.trainerState.globalStep;
  const name = `${CHECKPOINT_PREFIX}${step}`;
  const final = join(outputDir, name);
  const tmp = join(outputDir, `${TEMP_PREFIX}${step}-${process.pid}`);
  try {
    mkdirSync(outputDir, { recursive: true });
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    await model.savePretrained(tmp);
    await writeTensors(tmp, FILES.optimizer, data.optimizer.tensors, data.optimizer.config);
    await writeTensors(tmp, FILES.variables, data.variables, {});
    writeDurably(join(tmp, FILES.scheduler), JSON.stringify(data.scheduler, null, 2));
    writeDurably(join(tmp, FILES.rng), JSON.stringify(data.rng, null, 2));
    writeDurably(join(tmp, FILES.args), JSON.stringify(data.args, null, 2));
    if (data.runConfig !== undefined) writeDurably(join(tmp, FILES.runConfig), JSON.stringify(data.runConfig, null, 2));
    // trainer_state.json last: its presence is the sign every other file was written.
    writeDurably(join(tmp, FILES.state), JSON.stringify(data.trainerState, null, 2));
    fsyncTree(tmp);
    if (existsSync(final)) {
      const old = join(outputDir, `${OLD_PREFIX}${step}-${process.pid}`);
      renameSync(final, old);
      renameSync(tmp, final);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, final);
    }
    fsyncPath(outputDir);
  } catch (cause) {
    rmSync(tmp, { recursive: true, force: true });
    throw new DistilleryTrainerError('WRITE_FAILED', `could not write checkpoint ${final}: ${(cause as Error).message}; check free disk space and permissions of outputDir.`, { cause });
  }
  return final;
}

/** Read and validate every trainer-side file of a checkpoint (the model is loaded by the caller). */
export function readCheckpoint(dir: string): CheckpointData {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DistilleryTrainerError('CHECKPOINT_MISSING', `checkpoint folder ${dir} does not exist; pass a checkpoint-<step> folder, or true for the newest in outputDir.`);
  const required = [FILES.state, FILES.scheduler, FILES.rng, FILES.args, ...[FILES.optimizer, FILES.variables].flatMap((b) => [`${b}.json`, `${b}.bin`])];
  const missing = required.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `${dir} is incomplete: ${missing.join(', ')} missing; resume from another checkpoint.`);
  const optimizer = readTensors(dir, FILES.optimizer);
  return {
    trainerState: readJson<TrainerState>(dir, FILES.state),
    optimizer: { config: optimizer.meta, tensors: optimizer.tensors },
    scheduler: readJson<LrSchedulerState>(dir, FILES.scheduler),
    rng: readJson<RngStateFile>(dir, FILES.rng),
    variables: readTrainerVariables(dir),
    args: readJson<Record<string, unknown>>(dir, FILES.args),
  };
}

/** The `runConfig` a checkpoint was written with, or undefined when its trainer was given none. */
export function readRunConfig(dir: string): Record<string, unknown> | undefined {
  return existsSync(join(dir, FILES.runConfig)) ? readJson<Record<string, unknown>>(dir, FILES.runConfig) : undefined;
}

/** The extra trainable variables saved with a checkpoint (caller disposes). */
export function readTrainerVariables(dir: string): Map<string, tf.Tensor> {
  return readTensors(dir, FILES.variables).tensors;
}

/** Complete checkpoints in `outputDir`, oldest step first. */
export function listCheckpoints(outputDir: string): { step: number; dir: string }[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), dir: join(outputDir, m[0]) }))
    .filter((c) => existsSync(join(c.dir, FILES.state)))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(outputDir: string): string | undefined {
  return listCheckpoints(outputDir).at(-1)?.dir;
}

/** Remove what a killed writer left behind; put back a checkpoint caught between its two renames. */
export function cleanStaleCheckpointTemps(outputDir: string): void {
  if (!existsSync(outputDir)) return;
  for (const name of readdirSync(outputDir)) {
    const old = new RegExp(`^${OLD_PREFIX.replace('.', '\\.')}(\\d+)-\\d+$`).exec(name);
    if (old && !existsSync(join(outputDir, `${CHECKPOINT_PREFIX}${old[1]}`))) renameSync(join(outputDir, name), join(outputDir, `${CHECKPOINT_PREFIX}${old[1]}`));
    else if (old || name.startsWith(TEMP_PREFIX)) rmSync(join(outputDir, name), { recursive: true, force: true });
  }
}

/**
 * Keep at most `limit` checkpoints, deleting the oldest first, but never the best one nor the
 * newest (the one resume needs); so with limit 1 and an older best, two remain (as HF).
 */
export function rotateCheckpoints(outputDir: string, limit: number, bestDir: string | null): void {
  const all = listCheckpoints(outputDir);
  const newest = all.at(-1)?.dir;
  const deletable = all.filter((c) => c.dir !== bestDir && c.dir !== newest);
  const excess = Math.max(0, all.length - limit);
  for (const c of deletable.slice(0, excess)) rmSync(c.dir, { recursive: true, force: true });
}
