/**
 * `distillery distill`: train a student from one or more frozen teachers with the loss plugins the
 * config lists (each with its weight, schedule and options), through DistillationTrainer. The
 * training file may be unlabelled (a transfer set: teacher soft labels only). Writes checkpoints,
 * then the student as an HF folder (model + tokenizer) and train_results.json. A teacher with its
 * own tokenizer (`teacherTokenizer`) reads each example's text through it (sequence-level plugins).
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import type { TrainingArguments } from '@distillery/trainer';
import { CachedTeacher, CrossTokenizerTeacher, DistillationTrainer, checkVocab, outputRequest, type DistillModel, type LossPlugin } from '@distillery/plugins';
import { ConfigFields, DATA_FLAGS, DEFAULT_MAX_LENGTH, TRAINING_FLAGS, addConfigOptions, commonConfig, checkRunOutputs, configSource, trainingArguments, type CommonConfig, type DataConfig, type ModelSource, type OverrideFlag } from './config.js';
import { writeFileAtomic } from './output-path.js';
import { configShape, formatMetrics, limitsConfig, loadTeacher, loadTokenizer, positionLimit, requireTrainedWeights, savePretrainedFolder, type Classifier } from './models.js';
import type { OnnxTeacherLike } from './onnx.js';
import { PLUGIN_TYPES, checkPluginShapes, parsePlugins } from './plugin-config.js';
import { addResumeOption, describeRun, resumeCheckpoint, trainResumable } from './resume.js';
import { readCommandData } from './tasks/data.js';
import { TASK_FLAGS, labelNames, loadTaskModel, parseTaskConfig, resolveTask, type TaskConfig } from './tasks/task.js';
import { AutoTokenizer, initFromTeacher, parseTeacherLayerSelection, type AnyModel, type ModelConfig, type TeacherLayerSelection } from '@distillery/models';

export interface DistillConfig extends CommonConfig, TaskConfig {
  teachers: ModelSource[];
  /**
   * Per teacher, its own tokenizer when it differs from the student's (undefined: it reads the
   * student's ids). Such a teacher re-encodes each example's text; the data is tokenized for the
   * student (default: the student's own tokenizer).
   */
  teacherTokenizers?: Array<string | undefined>;
  /** Shards written by `cache-teacher`: the teacher's outputs, read instead of running it. */
  teacherCache?: string;
  /** Start the student from the (first) teacher's embeddings and these layers (DistilBERT). */
  initFromTeacher?: TeacherLayerSelection;
  student: ModelSource;
  plugins: LossPlugin[];
  /** Relative weights of the teachers' soft labels. */
  teacherWeights?: number[];
  training: TrainingArguments;
}

const FLAGS: readonly OverrideFlag[] = [
  { flag: 'teacher', path: 'teacher', description: 'trained teacher folder (safetensors, or an ONNX export: onnx/model.onnx) or hub id' },
  { flag: 'teacher-tokenizer', path: 'teacherTokenizer', description: 'the teacher\'s own tokenizer (folder or hub id) when it differs from the student\'s: the teacher re-encodes each text row (sequence-level plugins such as logitKd)' },
  { flag: 'teacher-cache', path: 'teacherCache', description: 'folder of cache-teacher shards: train from them without loading the teacher' },
  { flag: 'student', path: 'student', description: 'student folder or hub id (a config.json object in the file starts from scratch)' },
  ...TASK_FLAGS,
  { flag: 'init-from-teacher', path: 'initFromTeacher', description: 'start the student from the teacher: every-other | first-k | layers=0,2,4' },
  ...DATA_FLAGS,
  ...TRAINING_FLAGS,
];

/** The top-level fields of a distill config. */
export const DISTILL_FIELDS = ['teacher', 'teacherTokenizer', 'teacherCache', 'student', 'task', 'taskOptions', 'initFromTeacher', 'tokenizer', 'numLabels', 'data', 'plugins', 'teacherWeights', 'training'] as const;

export function parseDistillConfig(f: ConfigFields): DistillConfig {
  f.topLevel(DISTILL_FIELDS);
  const teacher = f.get('teacher');
  const student = f.get('student');
  const teacherCache = f.optional(f.get('teacherCache'), 'teacherCache', (v, p) => f.path(v, p));
  if (teacher === undefined && teacherCache === undefined) f.fail('teacher', 'is required: the trained teacher\'s folder or hub id (or a list of them), or teacherCache (--teacher-cache) from cache-teacher.');
  if (student === undefined) f.fail('student', 'is required: a folder / hub id, or a config.json object such as {"model_type": "bert", "num_hidden_layers": 2}.');
  const teachers = Array.isArray(teacher) ? teacher.map((t, i) => f.modelSource(t, `teacher[${i}]`)) : teacher === undefined ? [] : [f.modelSource(teacher, 'teacher')];
  if (teachers.length === 0 && teacherCache === undefined) f.fail('teacher', 'is an empty list; name at least one teacher.');
  if (teacherCache !== undefined) {
    const plugins = f.get('plugins');
    // Padded positions have no teacher values in a cache (each row is stored at its own length).
    (Array.isArray(plugins) ? plugins : []).forEach((p: { type?: unknown; maskPadding?: unknown } | null, i) => {
      if (['hiddenState', 'attention'].includes(String(p?.type)) && p?.maskPadding !== true) f.fail(`plugins[${i}].maskPadding`, 'must be true with teacherCache: the cache holds no teacher outputs at padded positions.');
    });
  }
  if (teachers.length > 1 && teacherCache !== undefined) f.fail('teacherCache', 'holds one teacher\'s outputs; distil from several teachers live (drop teacherCache).');
  const teacherTokenizers = f.optional(f.get('teacherTokenizer'), 'teacherTokenizer', (v, p) => {
    if (teacherCache !== undefined) f.fail(p, 'cannot be used with teacherCache: the cache holds the teacher\'s outputs for the student\'s token ids; distil from the live teacher (drop teacherCache).');
    if (!Array.isArray(v)) return teachers.map(() => f.folderOrHubId(v, p));
    if (v.length !== teachers.length) f.fail(p, `must be one tokenizer for every teacher, or a list of ${teachers.length} (one per teacher, null for a teacher that shares the student's tokenizer).`);
    return v.map((t, i) => (t === null ? undefined : f.folderOrHubId(t, `${p}[${i}]`)));
  });
  const weights = f.optional(f.get('teacherWeights'), 'teacherWeights', (v, p) => {
    if (!Array.isArray(v) || v.length !== teachers.length) f.fail(p, `must be a list of ${teachers.length} numbers, one per teacher.`);
    return v.map((w, i) => f.number(w, `${p}[${i}]`, 0));
  });
  const init = f.optional(f.get('initFromTeacher'), 'initFromTeacher', (v, p) => {
    try {
      return parseTeacherLayerSelection(f.string(v, p));
    } catch (cause) {
      return f.fail(p, (cause as Error).message.replace(/^init from teacher: /, ''), cause);
    }
  });
  if (init !== undefined && teacherTokenizers?.[0] !== undefined) f.fail('initFromTeacher', 'copies the teacher\'s embeddings, whose rows are its own tokenizer\'s ids, not the student\'s (teacherTokenizer is set); start the student from its own weights.');
  const task = parseTaskConfig(f);
  return {
    teachers,
    ...(teacherTokenizers !== undefined && { teacherTokenizers }),
    ...(teacherCache !== undefined && { teacherCache }),
    student: f.modelSource(student, 'student'),
    ...task,
    ...(init !== undefined && { initFromTeacher: init }),
    ...commonConfig(f, { train: true, eval: false }),
    // Question answering distils start/end distributions over positions.
    plugins: parsePlugins(f, f.get('plugins'), 'plugins', task.task === 'question-answering' ? { logitKd: { target: 'span' } } : {}),
    ...(weights !== undefined && { teacherWeights: weights }),
    training: trainingArguments(f),
  };
}

export function registerDistill(program: Command): void {
  const cmd = program
    .command('distill')
    .description('distil a student from frozen teacher(s) with weighted loss plugins; writes checkpoints and the student as an HF folder')
    .addHelpText('after', [
      '\nConfig (JSON or YAML): { teacher, student, tokenizer?, numLabels?, data: { train, eval?, maxLength? },',
      '  plugins: [{ type, name?, weight?, ...options }], teacherWeights?, training: { outputDir, ...TrainingArguments } }',
      `Plugin types: ${Object.entries(PLUGIN_TYPES).map(([t, p]) => `${t}(${Object.keys(p.options).join(', ')})`).join(', ')}`,
      'A weight (and logitKd temperature/alpha) may be a schedule: { kind: "linear", from, to, startStep?, endStep? }.',
    ].join('\n'));
  addResumeOption(addConfigOptions(cmd, FLAGS)).action(async (opts: Record<string, unknown>) => {
    const f = new ConfigFields(configSource(opts, FLAGS));
    const config = parseDistillConfig(f);
    const args = config.training;
    const { teachers: t, student: s, tokenizer: tok, numLabels, teacherWeights } = config;
    const roles = config.teachers.map((_, i) => (config.teachers.length > 1 ? `teacher[${i}]` : 'teacher'));
    const sources = { student: config.student, ...Object.fromEntries(config.teachers.map((t, i) => [roles[i]!, t])), ...Object.fromEntries((config.teacherTokenizers ?? []).map((t, i) => [`${roles[i]!} tokenizer`, t])), teacherCache: config.teacherCache };
    checkRunOutputs(f, config, sources, opts.resumeFromCheckpoint !== undefined);
    const runConfig = describeRun('distill', { teachers: t, teacherTokenizers: config.teacherTokenizers, teacherCache: config.teacherCache, student: s, task: config.task, taskOptions: config.taskOptions, initFromTeacher: config.initFromTeacher, tokenizer: tok, numLabels, plugins: f.get('plugins'), teacherWeights }, config.data, args);
    const checkpoint = await resumeCheckpoint(opts.resumeFromCheckpoint, args.outputDir, runConfig);
    // With a cache the teacher is never loaded: its outputs (and config) come from the shards.
    const cached = config.teacherCache === undefined ? undefined : await CachedTeacher.open(config.teacherCache);
    // The shard files close whatever happens next: runCli may run inside a longer-lived process.
    try {
      // What the plugins will ask for, before any model loads; the fix names this run's config.
      if (f.file !== undefined) cached?.checkServes(outputRequest(config.plugins, { step: 0, maxSteps: 1 }), `rerun \`distillery cache-teacher --config ${f.file} --out ${cached.dir}\` (it stores what these plugins ask for)`);
      const task = await resolveTask(config.task, cached ? (cached.config as unknown as ModelConfig) : config.teachers[0]!);
      if (task === 'question-answering' && config.task === undefined) f.fail('task', 'is needed for a question-answering teacher: set task: question-answering (it sets the logitKd plugins\' span target).');
      // Dynamic masking gives the teacher new inputs every epoch, which no cache holds.
      if (cached && task === 'masked-lm') f.fail('teacherCache', 'cannot serve masked-LM distillation: every batch is masked afresh, so the teacher must run live (drop teacherCache).');
      if (cached && config.initFromTeacher !== undefined) f.fail('initFromTeacher', 'needs the teacher\'s weights, and teacherCache never loads them; name the teacher folder (teacher) instead of the cache.');
      if (config.teacherTokenizers && task !== 'sequence-classification') f.fail('teacherTokenizer', `works for sequence-level heads only (classification, regression); a ${task} teacher's outputs are per token, and tokens differ across tokenizers. Use a teacher with the student's tokenizer.`);
      // Layer maps against both models' layers, from their configs: no weights loaded yet.
      checkPluginShapes(f, config.plugins, { student: await configShape(config.student), teacher: cached ? cached.modelShape : await configShape(config.teachers[0]!) });
      // A sequence-classification teacher may be an ONNX export; the other heads load as task models.
      const teachers = cached ? [] : await Promise.all(config.teachers.map(async (t, i) => requireTrainedWeights(await (task === 'sequence-classification' ? loadTeacher(t, { seed: args.seed }) : loadTaskModel(task, t, { seed: args.seed })), f.where(Array.isArray(f.get('teacher')) ? `teacher[${i}]` : 'teacher'))));
      // With a teacher of its own tokenizer, the rows are the student's: its tokenizer by default.
      const tokenizer = await loadTokenizer(config.tokenizer, config.teacherTokenizers ? config.student : config.teachers[0] ?? config.student);
      const teacherConfig = (cached ? cached.config : teachers[0]!.config) as { numLabels?: number; id2label?: Record<number, string> };
      // The student scores the teacher's classes, in the teacher's order (logit KD compares them index by index).
      const labels = task === 'token-classification' && config.numLabels === undefined && teacherConfig.id2label ? labelNames(teacherConfig.id2label) : undefined;
      const student = await loadTaskModel(task, config.student, { seed: args.seed, ...(labels ? { labels } : optionalNumLabels(config.numLabels ?? teacherConfig.numLabels)) });
      // The pair's vocabularies, before the data (whose ids are checked against both): a mismatch names the flag.
      const sameTokenizer = teachers.map((_, i) => config.teacherTokenizers?.[i] === undefined);
      for (const [i, t] of teachers.entries()) if (sameTokenizer[i]) checkVocab(student, t, vocabFix(config, i));
      if (cached) checkVocab(student, cached, 'Distil a student that shares the teacher\'s tokenizer, or distil from the live teacher with teacherTokenizer (--teacher-tokenizer) instead of teacherCache.');
      if (config.initFromTeacher !== undefined) {
        const source = teachers[0]!;
        if ('modelConfig' in source) f.fail('initFromTeacher', 'needs the teacher\'s weights, which an ONNX teacher does not expose; name the teacher\'s safetensors folder.');
        const report = initFromTeacher(student, source as AnyModel, config.initFromTeacher);
        console.error(`[distillery] distill: student initialised from the teacher's layers ${report.teacherLayers.join(', ')} (${report.copied.length} tensors copied, ${report.fresh.length} left fresh)`);
      }
      const distillTeachers = await withTeacherTokenizers(teachers, config.teacherTokenizers, config.data);
      const data = readCommandData(f, task, config.data, { student, ...Object.fromEntries(teachers.map((t, i) => [roles[i]!, t]).filter((_, i) => sameTokenizer[i])) }, tokenizer, config.taskOptions);
      for (const [field, examples] of [['data.train', data.train], ['data.eval', data.evalDataset]] as const) {
        const row = cached && examples ? examples.findIndex((e) => !cached.has(e)) : -1;
        if (row >= 0) f.fail(field, `row ${row + 1} has no outputs in teacher cache ${cached!.dir}; run cache-teacher on this file (${field === 'data.eval' ? '--eval-file' : '--data'}) with the same tokenizer and maxLength.`);
      }

      const trainer = new DistillationTrainer({
        model: student, teacher: cached ?? distillTeachers, plugins: config.plugins, args,
        trainDataset: data.train!,
        ...(data.evalDataset && { evalDataset: data.evalDataset }),
        ...(data.dataCollator && { dataCollator: data.dataCollator }),
        ...(data.computeMetrics && { computeMetrics: data.computeMetrics }),
        distillation: { seed: args.seed, ...(config.teacherWeights && { teacherWeights: config.teacherWeights }) },
        runConfig,
      } as never) as DistillationTrainer;
      const loss = config.plugins.map((p) => p.name).join(' + ');
      console.error(`[distillery] distill ${task}: ${cached ? `teacher outputs from ${cached.dir}` : `${teachers.length} teacher(s)`} → ${student.constructor.name} on ${data.train!.length} ${data.labelled ? 'labelled' : 'unlabelled'} examples, loss ${loss}`);
      const result = await trainResumable(trainer, checkpoint);
      // The last training log's per-plugin terms (loss/<plugin>[/<part>]), unweighted.
      const lastLog = trainer.state.logHistory.filter((e) => 'loss' in e).at(-1) ?? {};
      const terms = Object.fromEntries(Object.entries(lastLog).filter((e): e is [string, number] => e[0].startsWith('loss/') && typeof e[1] === 'number'));
      const metrics = { ...result.metrics, ...terms, ...(data.evaluate && { ...(await data.evaluate(student)), epoch: trainer.state.epoch }) };
      await savePretrainedFolder(student, tokenizer, args.outputDir);
      writeFileAtomic(join(args.outputDir, 'train_results.json'), `${JSON.stringify(metrics, null, 2)}\n`);
      config.plugins.forEach((p) => p.dispose?.());
      await Promise.all([student, ...teachers].map((m) => m.dispose()));
      console.log(`distill: ${result.globalStep} steps, saved the student to ${args.outputDir}\n${formatMetrics(metrics)}`);
    } finally {
      cached?.close();
    }
  });
}

/** How to distil across tokenizers from the CLI, for checkVocab's message. */
function vocabFix(config: DistillConfig, i: number): string {
  const source = config.teachers[i];
  const value = typeof source === 'string' ? source : '<the teacher\'s tokenizer folder>';
  const set = config.teachers.length > 1 ? `teacherTokenizer to a list with teacher[${i}]'s tokenizer (${value}) at index ${i}, null for teachers that share the student's` : `teacherTokenizer (--teacher-tokenizer ${value})`;
  return `Set ${set}, so the teacher re-encodes each example's text with its own tokenizer (sequence-level plugins such as logitKd); or pick a student that shares the teacher's tokenizer.`;
}

/**
 * Teachers with their own tokenizer wrapped to read each row's text through it, cut to the run's
 * maxLength (or the teacher's positions, if fewer); the others as they are.
 */
async function withTeacherTokenizers(teachers: Array<AnyModel | OnnxTeacherLike>, tokenizers: DistillConfig['teacherTokenizers'], data: DataConfig): Promise<DistillModel[]> {
  return Promise.all(teachers.map(async (t, i) => {
    const source = tokenizers?.[i];
    if (source === undefined) return t as DistillModel;
    const limits = limitsConfig(t as Classifier | OnnxTeacherLike);
    const maxLength = Math.min(data.maxLength ?? DEFAULT_MAX_LENGTH, limits ? positionLimit(limits) : Infinity);
    return new CrossTokenizerTeacher(t as DistillModel, await AutoTokenizer.fromPretrained(source), { maxLength });
  }));
}

function optionalNumLabels(numLabels: number | undefined): { numLabels?: number } {
  return numLabels === undefined ? {} : { numLabels };
}
