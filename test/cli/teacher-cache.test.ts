/**
 * `distillery cache-teacher` + `distill --teacher-cache`, through the real command entry (runCli,
 * in-process): a teacher cached in 2 shards trains the student with the same per-step losses
 * (<= 1e-6) as the live teacher, without loading it; shard errors are one line; and the top-k
 * reconstruction keeps the KD loss within the bound the README states. An ONNX export of the
 * teacher caches the same losses (<= 1e-5); one without the layer outputs is refused naming the flag.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { AutoModelForSequenceClassification, AutoModelForTokenClassification, parseConfig } from '@distillery/models';
import { CachedTeacher, computeTeacherShard, softTargetKlLoss, type DistillBatch, type DistillModel } from '@distillery/plugins';
import { Rng, initBackend, listCheckpoints, type LogEntry } from '@distillery/trainer';
import { cliInProcess } from '../helpers/cli.js';
import { bertConfig, writeTask } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'distillery-tcache-'));
const task = writeTask(tmp);
const teacherDir = join(tmp, 'teacher');
const config = join(tmp, 'distill.json');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const cli = cliInProcess;

/** This process's open file descriptors on files under `dir` (Linux /proc; [] where there is none). */
function openFilesUnder(dir: string): string[] {
  if (!existsSync('/proc/self/fd')) return [];
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      return [readlinkSync(join('/proc/self/fd', fd))];
    } catch {
      return []; // closed between the listing and the read (the listing's own fd)
    }
  }).filter((target) => target.startsWith(`${dir}/`));
}

/** The training logs of a finished run (from its last checkpoint's trainer_state.json). */
async function trainingLogs(outputDir: string): Promise<LogEntry[]> {
  const state = JSON.parse(readFileSync(join((await listCheckpoints(outputDir)).at(-1)!.dir, 'trainer_state.json'), 'utf8')) as { logHistory: LogEntry[] };
  return state.logHistory.filter((e) => 'loss' in e && !('train_loss' in e));
}

/** The distill run with the live TF.js teacher (once per file), the reference of the cached runs. */
let live: Promise<LogEntry[]> | undefined;
function liveRun(): Promise<LogEntry[]> {
  live ??= cli('distill', '--config', config, '--output-dir', join(tmp, 'live')).then((r) => {
    expect(r.code, r.stderr).toBe(0);
    return trainingLogs(join(tmp, 'live'));
  });
  return live;
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu', log: false });
  const teacher = AutoModelForSequenceClassification.fromConfig(parseConfig({ ...bertConfig(32, 2), num_labels: 2 }), 1);
  await teacher.savePretrained(teacherDir);
  teacher.dispose();
  writeFileSync(config, JSON.stringify({
    teacher: 'teacher', student: bertConfig(16, 1), tokenizer: 'tok',
    data: { train: 'train.jsonl', eval: 'eval.jsonl', maxLength: 16 },
    plugins: [{ type: 'logitKd', temperature: 2, alpha: 0.5 }, { type: 'hiddenState', weight: 0.1, maskPadding: true }],
    training: { outputDir: 'unused', maxSteps: 12, perDeviceTrainBatchSize: 8, learningRate: 0.01, loggingSteps: 1, saveSteps: 12, reportTo: [], disableTqdm: true },
  }));
});

describe('cache-teacher and distill --teacher-cache', () => {
  it('2 shards of full logits + hidden states give the live teacher\'s per-step losses (<= 1e-6)', async () => {
    const cache = join(tmp, 'cache');
    for (const shard of ['0/2', '1/2']) {
      const r = await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--eval-file', task.eval, '--max-length', '16', '--out', cache, '--shard', shard, '--batch-size', '16', '--hidden-states');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^cache-teacher: 72 rows → /); // (96 train + 48 eval) / 2
    }
    await liveRun();
    const cached = await cli('distill', '--config', config, '--output-dir', join(tmp, 'cached'), '--teacher-cache', cache);
    expect(cached.code, cached.stderr).toBe(0);
    expect(cached.stderr).toContain(`teacher outputs from ${cache}`);

    const [a, b] = [await liveRun(), await trainingLogs(join(tmp, 'cached'))];
    expect(a).toHaveLength(12);
    expect(b.map((e) => e.step)).toEqual(a.map((e) => e.step));
    for (const [i, entry] of a.entries()) {
      for (const key of ['loss', 'loss/kd', 'loss/kd/soft', 'loss/hidden']) {
        expect(Math.abs(b[i]![key]! - entry[key]!), `step ${entry.step} ${key}`).toBeLessThanOrEqual(1e-6);
      }
    }
    // The evaluation after training reads the cached eval rows.
    const evalLoss = (dir: string): number => (JSON.parse(readFileSync(join(tmp, dir, 'train_results.json'), 'utf8')) as { eval_loss: number }).eval_loss;
    expect(Math.abs(evalLoss('cached') - evalLoss('live'))).toBeLessThanOrEqual(1e-6);
  });

  it('an ONNX export of the teacher (with --hidden-states) caches the TF.js teacher\'s per-step losses (<= 1e-5)', async () => {
    const onnx = join(tmp, 'teacher-onnx');
    expect((await cli('export', '--model', teacherDir, '--out', onnx, '--hidden-states')).code).toBe(0);
    const cache = join(tmp, 'onnx-cache');
    const r = await cli('cache-teacher', '--teacher', onnx, '--tokenizer', task.tokenizer, '--data', task.train, '--eval-file', task.eval, '--max-length', '16', '--out', cache, '--batch-size', '16', '--hidden-states');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cache-teacher: 144 rows → /);
    const cached = await cli('distill', '--config', config, '--output-dir', join(tmp, 'onnx-cached'), '--teacher-cache', cache);
    expect(cached.code, cached.stderr).toBe(0);
    const [a, b] = [await liveRun(), await trainingLogs(join(tmp, 'onnx-cached'))];
    expect(b).toHaveLength(a.length);
    for (const [i, entry] of a.entries()) {
      for (const key of ['loss', 'loss/kd', 'loss/hidden']) expect(Math.abs(b[i]![key]! - entry[key]!), `step ${entry.step} ${key}`).toBeLessThanOrEqual(1e-5);
    }

    // Exported without the hidden states: refused before the pass, naming the export flag.
    const logitsOnly = join(tmp, 'teacher-onnx-logits');
    expect((await cli('export', '--model', teacherDir, '--out', logitsOnly)).code).toBe(0);
    const refused = await cli('cache-teacher', '--teacher', logitsOnly, '--tokenizer', task.tokenizer, '--data', task.train, '--out', join(tmp, 'never-cache'), '--hidden-states');
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n').at(-1)).toMatch(/^error \[OUTPUT_MISSING\]: ONNX teacher .*teacher-onnx-logits\/onnx\/model\.onnx: the graph has no hidden_states\.\{i\} outputs .*--hidden-states`/);
  });

  it('a cache without the eval rows is refused before training, naming data.eval and the row', async () => {
    const trainOnly = join(tmp, 'train-only');
    expect((await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--max-length', '16', '--out', trainOnly, '--hidden-states')).code).toBe(0);
    const r = await cli('distill', '--config', config, '--output-dir', join(tmp, 'never'), '--teacher-cache', trainOnly);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').at(-1)).toBe(`error [CONFIG_INVALID]: ${config}: data.eval row 1 has no outputs in teacher cache ${trainOnly}; run cache-teacher on this file (--eval-file) with the same tokenizer and maxLength.`);
  });

  it('a cache without the hidden states a plugin needs is refused before the models load, naming the cache-teacher --config run that fixes it; that run stores exactly what the plugins ask for', async () => {
    const logitsOnly = join(tmp, 'logits-only');
    expect((await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--eval-file', task.eval, '--max-length', '16', '--out', logitsOnly)).code).toBe(0);
    const outputDir = join(tmp, 'no-hidden');
    const r = await cli('distill', '--config', config, '--output-dir', outputDir, '--teacher-cache', logitsOnly);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').at(-1)).toBe(`error [CACHE_INVALID]: teacher cache ${logitsOnly} lacks the hidden states the plugins ask for; rerun \`distillery cache-teacher --config ${config} --out ${logitsOnly}\` (it stores what these plugins ask for).`);
    expect((await listCheckpoints(outputDir))).toEqual([]);

    // Following the line: the distill config's teacher, tokenizer, data and plugins (logitKd + hiddenState).
    const rerun = await cli('cache-teacher', '--config', config, '--out', logitsOnly);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toMatch(/rows 0\.\.143 of 144; logits, hidden states$/m);
    const manifest = JSON.parse(readFileSync(join(logitsOnly, 'shard-00000-of-00001.json'), 'utf8')) as { hiddenStates: boolean; attentions: boolean };
    expect([manifest.hiddenStates, manifest.attentions]).toEqual([true, false]);
    const fixed = await cli('distill', '--config', config, '--output-dir', outputDir, '--teacher-cache', logitsOnly);
    expect(fixed.code, fixed.stderr).toBe(0);
    const [a, b] = [await liveRun(), await trainingLogs(outputDir)];
    for (const [i, entry] of a.entries()) expect(Math.abs(b[i]!['loss/hidden']! - entry['loss/hidden']!), `step ${entry.step}`).toBeLessThanOrEqual(1e-6);
  });

  it('cache-teacher --config takes a distill config\'s teacherCache as --out, and refuses plugins asking for what no cache holds', async () => {
    const withCache = join(tmp, 'distill-cache.json');
    const attentionConfig = { ...(JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>), teacherCache: 'from-config', plugins: [{ type: 'attention', maskPadding: true }] };
    writeFileSync(withCache, JSON.stringify(attentionConfig));
    const r = await cli('cache-teacher', '--config', withCache);
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(tmp, 'from-config', 'shard-00000-of-00001.json'), 'utf8')) as { hiddenStates: boolean; attentions: boolean };
    expect([manifest.hiddenStates, manifest.attentions]).toEqual([false, true]);

    const scores = join(tmp, 'distill-scores.json');
    writeFileSync(scores, JSON.stringify({ ...attentionConfig, teacherCache: 'never-scores', plugins: [{ type: 'tinyBert', attentionTarget: 'scores' }] }));
    const refused = await cli('cache-teacher', '--config', scores);
    expect(refused.code).toBe(1);
    expect(refused.stderr.split('\n').at(-1)).toBe(`error [CONFIG_INVALID]: ${scores}: plugins ask for the teacher's attention scores (pre-softmax), which a cache does not hold; distil with the live teacher.`);
  });

  it('refuses a task other than sequence classification up front (its rows would be keyed differently), from the config or the teacher\'s head', async () => {
    const base = JSON.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
    for (const name of ['token-classification', 'question-answering', 'masked-lm']) {
      const file = join(tmp, `distill-${name}.json`);
      writeFileSync(file, JSON.stringify({ ...base, task: name, teacherCache: `never-${name}`, plugins: [{ type: 'logitKd' }] }));
      const r = await cli('cache-teacher', '--config', file);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n').at(-1)).toBe(`error [CONFIG_INVALID]: ${file}: task is ${name}: a teacher cache supports sequence classification only; distil this task with the live teacher (drop teacherCache).`);
      expect(existsSync(join(tmp, `never-${name}`))).toBe(false);
    }
    // Without a config the task is the teacher's head, as distill resolves it.
    const tagger = AutoModelForTokenClassification.fromConfig(parseConfig({ ...bertConfig(16, 1), num_labels: 3, architectures: ['BertForTokenClassification'] }), 1);
    const taggerDir = join(tmp, 'tagger');
    await tagger.savePretrained(taggerDir);
    tagger.dispose();
    const r = await cli('cache-teacher', '--teacher', taggerDir, '--tokenizer', task.tokenizer, '--data', task.train, '--out', join(tmp, 'never-tagger'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').at(-1)).toBe(`error [CONFIG_INVALID]: --teacher ${taggerDir} (teacher) is a token-classification model: a teacher cache supports sequence classification only; distil this task with the live teacher (drop teacherCache).`);
  });

  it('a .bin damaged after cache-teacher wrote it stops distill with one CACHE_INVALID line naming the file, no stack', async () => {
    const damaged = join(tmp, 'damaged');
    expect((await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--eval-file', task.eval, '--max-length', '16', '--out', damaged, '--hidden-states')).code).toBe(0);
    const bin = join(damaged, 'shard-00000-of-00001.bin');
    // 0xFF bytes read as NaN, which no teacher output holds; the size stays right, so only a read finds it.
    const bytes = readFileSync(bin);
    bytes.fill(0xff, 0, bytes.length);
    writeFileSync(bin, bytes);
    const outputDir = join(tmp, 'from-damaged');
    const r = await cli('distill', '--config', config, '--output-dir', outputDir, '--teacher-cache', damaged);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error'))).toHaveLength(1);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    // The run failed mid-training in this process: the shard's .bin is closed all the same.
    expect(openFilesUnder(damaged)).toEqual([]);
    expect(r.stderr.split('\n').at(-1)).toMatch(new RegExp(`^error \\[CACHE_INVALID\\]: teacher cache ${damaged}: ${bin} holds a non-finite value at byte \\d+, which no teacher output has \\(the file is damaged\\); rerun cache-teacher for that shard\\.$`));
  });

  it('a missing shard, or --shard auto outside an Indexed Job, fails with one line saying what to run', async () => {
    const partial = join(tmp, 'partial');
    expect((await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--max-length', '16', '--out', partial, '--shard', '1/3')).code).toBe(0);
    const r = await cli('distill', '--config', config, '--output-dir', join(tmp, 'never'), '--teacher-cache', partial);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').at(-1)).toBe(`error [CACHE_INVALID]: teacher cache ${partial}: shard(s) 0, 2 of 3 are missing; run cache-teacher --shard i/3 for them.`);

    delete process.env.JOB_COMPLETION_INDEX;
    const auto = await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--out', partial, '--shard', 'auto', '--shards', '3');
    expect(auto.code).toBe(1);
    expect(auto.stderr).toMatch(/^error \[CLI_USAGE\]: --shard auto: JOB_COMPLETION_INDEX is not set; run under a Kubernetes Indexed Job/);
  });

  it('--shard auto takes its index from JOB_COMPLETION_INDEX', async () => {
    const out = join(tmp, 'auto');
    process.env.JOB_COMPLETION_INDEX = '1';
    try {
      const r = await cli('cache-teacher', '--teacher', teacherDir, '--tokenizer', task.tokenizer, '--data', task.train, '--max-length', '16', '--out', out, '--shard', 'auto', '--shards', '2');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(join(out, 'shard-00001-of-00002.json'));
    } finally {
      delete process.env.JOB_COMPLETION_INDEX;
    }
  });
});

describe('top-k teacher logits', () => {
  /** A teacher whose logits are fixed rows (one per example), for a 40-class head. */
  const CLASSES = 40;
  const K = 5;
  const rng = new Rng(7);
  const rows = Array.from({ length: 6 }, () => Array.from({ length: CLASSES }, () => 6 * rng.next() - 3));
  const batch = (): DistillBatch => ({ inputIds: tf.tensor2d(rows.map((_, i) => [2, 5 + i, 3]), [rows.length, 3], 'int32') });
  const fixed: DistillModel = {
    config: { numLabels: CLASSES },
    modelShape: { numLayers: 1, hiddenSize: 4, numHeads: 1 },
    namedParameters: () => new Map(),
    forward: () => ({ logits: tf.tensor2d(rows) }),
  };

  /** Binary entropy (nats). */
  const h = (x: number): number => (x <= 0 ? 0 : -x * Math.log(x) - (1 - x) * Math.log(1 - x));

  it('keeps the top-k probabilities exactly at T = 1, and the KD loss within T² · mean(r̃_T · (ln(V − 1) + spread of ln q_T) + h(r̃_T)) for T >= 1', async () => {
    const dir = join(tmp, 'topk');
    const { manifest, data } = await computeTeacherShard(fixed, [batch()], { rows: rows.length, modelShape: fixed.modelShape! }, { shard: { index: 0, count: 1 }, topK: K });
    mkdirSync(dir);
    writeFileSync(join(dir, 'shard-00000-of-00001.bin'), new Uint8Array(data.buffer));
    writeFileSync(join(dir, 'shard-00000-of-00001.json'), JSON.stringify(manifest));
    const student = rows.map(() => Array.from({ length: CLASSES }, () => 4 * rng.next() - 2));
    const cached = await CachedTeacher.open(dir);
    tf.tidy(() => {
      const reconstructed = cached.forward(batch(), { training: false }).logits as tf.Tensor2D;
      const exact = tf.tensor2d(rows);
      const q = tf.tensor2d(student);
      const tops = rows.map((row) => new Set([...row.keys()].sort((x, y) => row[y]! - row[x]!).slice(0, K)));
      const pTilde1 = tf.softmax(reconstructed).arraySync() as number[][];
      const p1 = tf.softmax(exact).arraySync() as number[][];
      p1.forEach((row, i) => tops[i]!.forEach((j) => expect(Math.abs(pTilde1[i]![j]! - row[j]!)).toBeLessThan(1e-6)));

      for (const T of [1, 2, 4]) {
        const p = tf.softmax(tf.div(exact, T)).arraySync() as number[][];
        const pTilde = tf.softmax(tf.div(reconstructed, T)).arraySync() as number[][];
        const logQ = tf.logSoftmax(tf.div(q, T)).arraySync() as number[][];
        let bound = 0;
        pTilde.forEach((row, i) => {
          const tail = (dist: number[]): number => dist.reduce((s, v, j) => s + (tops[i]!.has(j) ? 0 : v), 0);
          const rTilde = tail(row);
          // The lemma behind the bound: an even tail has the most mass at T >= 1.
          expect(tail(p[i]!)).toBeLessThanOrEqual(rTilde + 1e-6);
          bound += (T * T * (rTilde * (Math.log(CLASSES - 1) + Math.max(...logQ[i]!) - Math.min(...logQ[i]!)) + h(Math.min(rTilde, 0.5)))) / rows.length;
        });
        const delta = Math.abs(softTargetKlLoss(q, reconstructed, T).arraySync() - softTargetKlLoss(q, exact, T).arraySync());
        expect(delta, `T=${T}`).toBeGreaterThan(0);
        expect(delta, `T=${T}`).toBeLessThanOrEqual(bound + 1e-5);
      }
    });
  });
});
