/**
 * `distillery cache-teacher`: the frozen teacher's outputs for a data file, computed once and
 * written as shards (`shard-<i>-of-<n>.json` + `.bin` in --out), so `distill --teacher-cache DIR`
 * trains without loading the teacher, and a batch scheduler can split the teacher pass across
 * machines: `--shard i/n` (0-based), or `--shard auto --shards N` under a Kubernetes Indexed Job
 * (the index comes from JOB_COMPLETION_INDEX). Use the distill run's tokenizer and maxLength.
 * The teacher may be an ONNX export, found as `distill --teacher` finds one. `--config` takes the
 * distill run's own config: its teacher, tokenizer and data, and, from its plugins, the outputs to
 * store (exactly what `distill --teacher-cache` will ask for); its teacherCache is the default --out.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DataCollatorWithPadding, type Example } from '@distillery/trainer';
import { computeTeacherShard, outputRequest, probeShape, shardFileBase, shardRange, type DistillBatch, type DistillModel, type OutputRequest, type ShardSpec } from '@distillery/plugins';
import { ConfigFields, addConfigOptions, commonConfig, configSource, inputPaths, type ConfigSource, type OverrideFlag } from './config.js';
import { readDataFiles } from './data.js';
import { DistilleryCliError } from './errors.js';
import { loadTeacher, loadTokenizer, requireTrainedWeights } from './models.js';
import { checkOutputDir, writeFileAtomic } from './output-path.js';
import { DISTILL_FIELDS, parseDistillConfig } from './distill.js';
import { resolveTask, type TaskName } from './tasks/task.js';

/** A shard's manifest or data, or writeFileAtomic's temp file of one being written by another job. */
const SHARD_FILE = /^\.?shard-\d+-of-\d+\.(?:json|bin)(?:\.tmp-\d+)?$/;

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'teacher', path: 'teacher', description: 'trained teacher folder (safetensors, or an ONNX export: onnx/model.onnx) or hub id' },
  { flag: 'tokenizer', path: 'tokenizer', description: 'tokenizer folder or hub id (default: the teacher\'s own); the distill run must use the same' },
  { flag: 'data', path: 'data.train', description: '.jsonl/.json rows {text} or {inputIds}: the distill run\'s training file' },
  { flag: 'eval-file', path: 'data.eval', description: 'the distill run\'s eval file, cached too (its evaluation runs the teacher on those rows)' },
  { flag: 'max-length', path: 'data.maxLength', description: 'tokens per example, as in the distill run' },
  { flag: 'out', path: 'out', description: 'folder of the shards (every shard job writes into the same one; default: a distill config\'s teacherCache)' },
  { flag: 'top-k', path: 'topK', description: 'keep only the k largest logits per position plus the rest\'s mass (for vocabulary-sized logits)' },
  { flag: 'shard', path: 'shard', description: '"i/n": this job computes the i-th (0-based) of n slices of the rows; "auto": i from JOB_COMPLETION_INDEX' },
  { flag: 'shards', path: 'shards', description: 'n, with --shard auto' },
  { flag: 'batch-size', path: 'batchSize', description: 'rows per teacher forward (default 32)' },
  { flag: 'hidden-states', path: 'hiddenStates', description: 'also store hidden states (hiddenState, tinyBert, patientKd plugins; an ONNX teacher needs them exported); --config\'s plugins set it when they need them', boolean: true },
  { flag: 'attentions', path: 'attentions', description: 'also store attention maps (attention, tinyBert, miniLm plugins; an ONNX teacher needs them exported); --config\'s plugins set it when they need them', boolean: true },
];

/**
 * The fields only cache-teacher reads, and those it shares with distill. A `--config` file holding
 * any of DISTILL_ONLY is the distill run's config, checked as distill checks it.
 */
const CACHE_ONLY = ['out', 'topK', 'shard', 'shards', 'batchSize', 'hiddenStates', 'attentions'];
const SHARED = ['teacher', 'tokenizer', 'data'];
const DISTILL_ONLY = DISTILL_FIELDS.filter((k) => !SHARED.includes(k));

/**
 * For a distill config (`--config` naming the distill run's file): its teacherCache, and what its
 * plugins will ask the cache for (as `distill --teacher-cache` checks it before the first step).
 * Attention scores are never cached.
 */
function distillNeeds(source: ConfigSource): { request: OutputRequest; teacherCache: string | undefined; task: TaskName | undefined } {
  const raw = Object.fromEntries(Object.entries(source.raw).filter(([k]) => !CACHE_ONLY.includes(k)));
  const f = new ConfigFields({ ...source, raw });
  const config = parseDistillConfig(f);
  if (config.teachers.length > 1) f.fail('teacher', 'is a list: a cache holds one teacher\'s outputs, and distill runs several teachers live.');
  if (config.teacherTokenizers !== undefined) f.fail('teacherTokenizer', 'is set: a teacher with its own tokenizer reads the text, and distill runs it live (a cache holds outputs for the student\'s ids).');
  const request = outputRequest(config.plugins, { step: 0, maxSteps: 1 });
  config.plugins.forEach((p) => p.dispose?.());
  if (request.attentionScores) f.fail('plugins', 'ask for the teacher\'s attention scores (pre-softmax), which a cache does not hold; distil with the live teacher.');
  return { request, teacherCache: config.teacherCache, task: config.task };
}

/** `--shard`: "i/n", "auto" (with --shards and JOB_COMPLETION_INDEX), or absent (one shard). */
function parseShard(f: ConfigFields): ShardSpec {
  const shard = f.get('shard');
  if (shard === undefined) {
    if (f.get('shards') !== undefined) f.fail('shards', 'is only read with --shard auto.');
    return { index: 0, count: 1 };
  }
  if (shard === 'auto') {
    const count = f.int(f.get('shards'), 'shards', 1);
    const env = process.env.JOB_COMPLETION_INDEX;
    if (env === undefined || !/^\d+$/.test(env)) throw new DistilleryCliError('CLI_USAGE', `--shard auto: JOB_COMPLETION_INDEX is ${env === undefined ? 'not set' : JSON.stringify(env)}; run under a Kubernetes Indexed Job (completionMode: Indexed), or pass --shard i/${count}.`);
    const index = Number(env);
    if (index >= count) throw new DistilleryCliError('CLI_USAGE', `--shard auto: JOB_COMPLETION_INDEX ${index} is not below --shards ${count}; set the Job's completions to ${count}.`);
    return { index, count };
  }
  const m = typeof shard === 'string' ? /^(\d+)\/(\d+)$/.exec(shard) : null;
  if (m === null || Number(m[1]) >= Number(m[2]) || Number(m[2]) < 1) f.fail('shard', `must be "i/n" with 0 <= i < n (e.g. 0/4), or "auto"; got ${JSON.stringify(shard)}.`);
  if (f.get('shards') !== undefined) f.fail('shards', 'is only read with --shard auto; "i/n" names the count already.');
  return { index: Number(m[1]), count: Number(m[2]) };
}

export function registerCacheTeacher(program: Command): void {
  const cmd = program
    .command('cache-teacher')
    .description('precompute a teacher\'s outputs for a data file into shards, for distill --teacher-cache');
  addConfigOptions(cmd, FLAGS).action(async (opts: Record<string, unknown>) => {
    const source = configSource(opts, FLAGS);
    const f = new ConfigFields(source);
    const isDistillConfig = DISTILL_ONLY.some((k) => k in source.raw);
    f.topLevel([...SHARED, ...CACHE_ONLY, ...(isDistillConfig ? DISTILL_ONLY : [])]);
    if (f.get('teacher') === undefined) f.fail('teacher', 'is required: the trained teacher\'s folder or hub id.');
    const distill = isDistillConfig ? distillNeeds(source) : undefined;
    const request = distill?.request ?? {};
    const outField = f.get('out') !== undefined || distill?.teacherCache === undefined ? 'out' : 'teacherCache';
    if (f.get(outField) === undefined) f.fail('out', 'is required: the folder the shards go to (or a distill config\'s teacherCache).');
    const teacherSource = f.modelSource(f.get('teacher'), 'teacher');
    // The rows are read as sequence classification: distill reads the other tasks' rows its own way
    // (word-aligned labels, question/context windows, fresh masks each batch), so their ids would
    // never match these rows' keys. The task is the distill config's, or the teacher's head, as distill resolves it.
    const task = await resolveTask(distill?.task, teacherSource);
    if (task !== 'sequence-classification') f.fail(distill?.task === undefined ? 'teacher' : 'task', `is ${distill?.task === undefined ? `a ${task} model` : task}: a teacher cache supports sequence classification only; distil this task with the live teacher (drop teacherCache).`);
    const common = commonConfig(f, { train: true, eval: false });
    const shard = parseShard(f);
    const topK = f.optional(f.get('topK'), 'topK', (v, p) => f.int(v, p, 1));
    const batchSize = f.optional(f.get('batchSize'), 'batchSize', (v, p) => f.int(v, p, 1)) ?? 32;
    // The flags add to what the plugins need (never remove it: distill would refuse the cache).
    const hiddenStates = (f.optional(f.get('hiddenStates'), 'hiddenStates', (v, p) => f.boolean(v, p)) ?? false) || request.hiddenStates === true;
    const attentions = (f.optional(f.get('attentions'), 'attentions', (v, p) => f.boolean(v, p)) ?? false) || request.attentions === true;
    // Every shard job writes into the same folder, so other shards there (and their temp files)
    // are expected; anything else means --out names a folder of the user's.
    const out = checkOutputDir(f.path(f.get(outField), outField), { where: f.where(outField), inputs: inputPaths(f, common, { teacher: teacherSource }), overwrite: false, overwriteFlag: null, ownFiles: SHARD_FILE });

    const teacher = requireTrainedWeights(await loadTeacher(teacherSource, { seed: 0 }), f.where('teacher'));
    // An ONNX graph without the layer outputs asked for says so (naming the export flag) before the pass.
    (teacher as DistillModel).checkServes?.({ hiddenStates, attentions });
    const tokenizer = await loadTokenizer(common.tokenizer, teacherSource);
    const files = readDataFiles(f, common.data, { teacher }, tokenizer);
    // Shards slice the train rows followed by the eval rows.
    const examples = [...files.train!.examples, ...(files.eval?.examples ?? [])] as Example[];
    const { start, end } = shardRange(examples.length, shard);
    const collator = new DataCollatorWithPadding();
    function* batches(): Generator<DistillBatch> {
      for (let at = start; at < end; at += batchSize) {
        const batch = collator.collate(examples.slice(at, Math.min(at + batchSize, end)));
        try {
          yield batch;
        } finally {
          tf.dispose(batch as unknown as tf.TensorContainer);
        }
      }
    }
    const stored = ['logits', hiddenStates && 'hidden states', attentions && 'attentions'].filter(Boolean).join(', ');
    console.error(`[distillery] cache-teacher: shard ${shard.index}/${shard.count}, rows ${start}..${end - 1} of ${examples.length}; ${topK !== undefined ? `top-${topK} ` : ''}${stored}`);
    const { manifest, data } = await computeTeacherShard(teacher, batches(), { rows: examples.length, modelShape: probeShape(teacher) }, { shard, hiddenStates, attentions, ...(topK !== undefined && { topK }) });
    await teacher.dispose();
    const base = join(out, shardFileBase(shard));
    // The .bin first: a shard counts once its manifest exists.
    writeFileAtomic(`${base}.bin`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    writeFileAtomic(`${base}.json`, `${JSON.stringify(manifest)}\n`);
    console.log(`cache-teacher: ${manifest.entries.length} rows → ${base}.json (+ .bin, ${(data.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  });
}
