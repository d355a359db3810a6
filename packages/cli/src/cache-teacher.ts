/**
 * `distillery cache-teacher`: the frozen teacher's outputs for a data file, computed once and
 * written as shards (`shard-<i>-of-<n>.json` + `.bin` in --out), so `distill --teacher-cache DIR`
 * trains without loading the teacher, and a batch scheduler can split the teacher pass across
 * machines: `--shard i/n` (0-based), or `--shard auto --shards N` under a Kubernetes Indexed Job
 * (the index comes from JOB_COMPLETION_INDEX). Use the distill run's tokenizer and maxLength.
 * The teacher may be an ONNX export, found as `distill --teacher` finds one.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DataCollatorWithPadding, type Example } from '@distillery/trainer';
import { computeTeacherShard, probeShape, shardFileBase, shardRange, type DistillBatch, type DistillModel, type ShardSpec } from '@distillery/plugins';
import { ConfigFields, addConfigOptions, commonConfig, configSource, inputPaths, type OverrideFlag } from './config.js';
import { readDataFiles } from './data.js';
import { DistilleryCliError } from './errors.js';
import { loadTeacher, loadTokenizer, requireTrainedWeights } from './models.js';
import { checkOutputDir, writeFileAtomic } from './output-path.js';

/** A shard's manifest or data, or writeFileAtomic's temp file of one being written by another job. */
const SHARD_FILE = /^\.?shard-\d+-of-\d+\.(?:json|bin)(?:\.tmp-\d+)?$/;

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'teacher', path: 'teacher', description: 'trained teacher folder (safetensors, or an ONNX export: onnx/model.onnx) or hub id' },
  { flag: 'tokenizer', path: 'tokenizer', description: 'tokenizer folder or hub id (default: the teacher\'s own); the distill run must use the same' },
  { flag: 'data', path: 'data.train', description: '.jsonl/.json rows {text} or {inputIds}: the distill run\'s training file' },
  { flag: 'eval-file', path: 'data.eval', description: 'the distill run\'s eval file, cached too (its evaluation runs the teacher on those rows)' },
  { flag: 'max-length', path: 'data.maxLength', description: 'tokens per example, as in the distill run' },
  { flag: 'out', path: 'out', description: 'folder of the shards (every shard job writes into the same one)' },
  { flag: 'top-k', path: 'topK', description: 'keep only the k largest logits per position plus the rest\'s mass (for vocabulary-sized logits)' },
  { flag: 'shard', path: 'shard', description: '"i/n": this job computes the i-th (0-based) of n slices of the rows; "auto": i from JOB_COMPLETION_INDEX' },
  { flag: 'shards', path: 'shards', description: 'n, with --shard auto' },
  { flag: 'batch-size', path: 'batchSize', description: 'rows per teacher forward (default 32)' },
  { flag: 'hidden-states', path: 'hiddenStates', description: 'also store hidden states (hiddenState, tinyBert, patientKd plugins; an ONNX teacher needs them exported)', boolean: true },
  { flag: 'attentions', path: 'attentions', description: 'also store attention maps (attention, tinyBert, miniLm plugins; an ONNX teacher needs them exported)', boolean: true },
];

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
    const f = new ConfigFields(configSource(opts, FLAGS));
    f.topLevel(['teacher', 'tokenizer', 'data', 'out', 'topK', 'shard', 'shards', 'batchSize', 'hiddenStates', 'attentions']);
    if (f.get('teacher') === undefined) f.fail('teacher', 'is required: the trained teacher\'s folder or hub id.');
    if (f.get('out') === undefined) f.fail('out', 'is required: the folder the shards go to.');
    const teacherSource = f.modelSource(f.get('teacher'), 'teacher');
    const common = commonConfig(f, { train: true, eval: false });
    const shard = parseShard(f);
    const topK = f.optional(f.get('topK'), 'topK', (v, p) => f.int(v, p, 1));
    const batchSize = f.optional(f.get('batchSize'), 'batchSize', (v, p) => f.int(v, p, 1)) ?? 32;
    const hiddenStates = f.optional(f.get('hiddenStates'), 'hiddenStates', (v, p) => f.boolean(v, p)) ?? false;
    const attentions = f.optional(f.get('attentions'), 'attentions', (v, p) => f.boolean(v, p)) ?? false;
    // Every shard job writes into the same folder, so other shards there (and their temp files)
    // are expected; anything else means --out names a folder of the user's.
    const out = checkOutputDir(f.path(f.get('out'), 'out'), { where: f.where('out'), inputs: inputPaths(f, common, { teacher: teacherSource }), overwrite: false, overwriteFlag: null, ownFiles: SHARD_FILE });

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
    console.error(`[distillery] cache-teacher: shard ${shard.index}/${shard.count}, rows ${start}..${end - 1} of ${examples.length}${topK !== undefined ? `, top-${topK} logits` : ''}`);
    const { manifest, data } = await computeTeacherShard(teacher, batches(), { rows: examples.length, modelShape: probeShape(teacher) }, { shard, hiddenStates, attentions, ...(topK !== undefined && { topK }) });
    await teacher.dispose();
    const base = join(out, shardFileBase(shard));
    // The .bin first: a shard counts once its manifest exists.
    writeFileAtomic(`${base}.bin`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    writeFileAtomic(`${base}.json`, `${JSON.stringify(manifest)}\n`);
    console.log(`cache-teacher: ${manifest.entries.length} rows → ${base}.json (+ .bin, ${(data.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  });
}
