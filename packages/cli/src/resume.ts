/**
 * Long runs from the CLI: `--resume-from-checkpoint [DIR]` (HF's `resumeFromCheckpoint`) and the
 * run config every checkpoint carries (run_config.json), so a resume under another config is
 * refused with the field that differs instead of silently mixing two runs.
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { latestCheckpoint, listCheckpoints, readRunConfig, type TrainerCallback, type TrainingArguments, type TrainOutput } from '@distillery/trainer';
import type { DataConfig } from './config.js';
import { DistilleryCliError } from './errors.js';
import { gracefulStop } from './signals.js';

/** Fields that change what a run prints or where it writes, never what it computes. */
const NEUTRAL = new Set(['training.outputDir', 'training.overwriteOutputDir', 'training.disableTqdm', 'training.reportTo', 'training.loggingDir']);

export function addResumeOption(cmd: Command): Command {
  return cmd.option('--resume-from-checkpoint [dir]', 'continue from a checkpoint-<step> folder (default: the newest complete one in outputDir); the config must be the one that wrote it');
}

/**
 * The JSON that defines a run: the command, its parsed config and the training arguments, with
 * each data file replaced by the SHA-256 of its bytes (a moved file still resumes, an edited one does not).
 */
export function describeRun(command: string, parts: Record<string, unknown>, data: DataConfig, args: TrainingArguments): Record<string, unknown> {
  const digest = (file: string | undefined): string | undefined => file && `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  return JSON.parse(JSON.stringify({ command, ...parts, data: { ...data, train: digest(data.train), eval: digest(data.eval) }, training: args.toJSON() })) as Record<string, unknown>;
}

/** The checkpoint `--resume-from-checkpoint` names, checked against this run's config; undefined without the flag. */
export async function resumeCheckpoint(flag: unknown, outputDir: string, runConfig: Record<string, unknown>): Promise<string | undefined> {
  if (flag === undefined || flag === false) return undefined;
  const given = typeof flag === 'string' ? resolve(flag) : undefined;
  if (given !== undefined && !statSync(given, { throwIfNoEntry: false })?.isDirectory()) {
    throw new DistilleryCliError('CLI_USAGE', `--resume-from-checkpoint ${flag as string}: ${existsSync(given) ? 'is a file' : 'does not exist'}; name a checkpoint-<step> folder or the run's outputDir.`);
  }
  // A run's output folder stands for its newest checkpoint.
  const dir = given === undefined || (await listCheckpoints(given)).length > 0 ? await latestCheckpoint(given ?? outputDir) : given;
  if (dir === undefined) throw new DistilleryCliError('CLI_USAGE', `--resume-from-checkpoint: ${outputDir} holds no complete checkpoint-<step> folder; run without the flag to start from scratch, or name a checkpoint folder.`);
  if (!existsSync(join(dir, 'trainer_state.json'))) throw new DistilleryCliError('CLI_USAGE', `--resume-from-checkpoint ${dir}: not a complete checkpoint (no trainer_state.json); name a checkpoint-<step> folder or the run's outputDir.`);
  const saved = await readRunConfig(dir);
  if (saved === undefined) throw new DistilleryCliError('CHECKPOINT_MISMATCH', `--resume-from-checkpoint ${dir}: the checkpoint has no run_config.json, so it was not written by distillery ${String(runConfig.command)}; resume it through the API (Trainer.train({ resumeFromCheckpoint })) or start a new run.`);
  const diff = firstDifference(saved, runConfig, '');
  if (diff !== undefined) {
    throw new DistilleryCliError('CHECKPOINT_MISMATCH', `--resume-from-checkpoint ${dir}: ${diff.path} was ${show(diff.saved)} in the run that wrote it, but is ${show(diff.current)} now; resume with that run's config, or start a new run in another outputDir.`);
  }
  return dir;
}

/**
 * `trainer.train()`, resumed from `checkpoint` when given, stopping cleanly on SIGINT / SIGTERM /
 * parent death (see signals.ts): a stopped run throws INTERRUPTED naming the checkpoint to resume from.
 */
export async function trainResumable(
  trainer: { addCallback(callback: TrainerCallback): void; train(options: { resumeFromCheckpoint?: string }): Promise<TrainOutput> },
  checkpoint: string | undefined,
): Promise<TrainOutput> {
  trainer.addCallback(gracefulStop.callback());
  const result = await trainer.train(checkpoint === undefined ? {} : { resumeFromCheckpoint: checkpoint });
  const stop = gracefulStop.requested;
  if (stop !== undefined) {
    const dir = gracefulStop.checkpointDir;
    throw new DistilleryCliError('INTERRUPTED', `stopped after step ${result.globalStep} (${stop.reason}); ${dir ? `checkpoint ${dir} written. Resume: rerun the same command with --resume-from-checkpoint ${dir}` : 'no checkpoint was written'}.`, { exitCode: stop.exitCode });
  }
  return result;
}

function firstDifference(saved: unknown, current: unknown, path: string): { path: string; saved: unknown; current: unknown } | undefined {
  if (NEUTRAL.has(path)) return undefined;
  if (typeof saved === 'object' && saved !== null && typeof current === 'object' && current !== null && Array.isArray(saved) === Array.isArray(current)) {
    const a = saved as Record<string, unknown>;
    const b = current as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const sub = Array.isArray(saved) ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
      const d = firstDifference(a[key], b[key], sub);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return saved === current ? undefined : { path, saved, current };
}

function show(v: unknown): string {
  if (v === undefined) return 'unset';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
