/**
 * `distillery distill`: train a student from one or more frozen teachers with the loss plugins the
 * config lists (each with its weight, schedule and options), through DistillationTrainer. The
 * training file may be unlabelled (a transfer set: teacher soft labels only). Writes checkpoints,
 * then the student as an HF folder (model + tokenizer) and train_results.json.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import type { TrainingArguments } from '@distillery/trainer';
import { CachedTeacher, DistillationTrainer, type LossPlugin } from '@distillery/plugins';
import { ConfigFields, DATA_FLAGS, TRAINING_FLAGS, addConfigOptions, commonConfig, checkRunOutputs, configSource, trainingArguments, type CommonConfig, type ModelSource, type OverrideFlag } from './config.js';
import { writeFileAtomic } from './output-path.js';
import { formatMetrics, loadTeacher, loadTokenizer, requireTrainedWeights, savePretrainedFolder } from './models.js';
import { PLUGIN_TYPES, parsePlugins } from './plugin-config.js';
import { addResumeOption, describeRun, resumeCheckpoint, trainResumable } from './resume.js';
import { readCommandData } from './tasks/data.js';
import { TASK_FLAG, loadTaskModel, parseTaskConfig, resolveTask, type TaskConfig } from './tasks/task.js';
import { initFromTeacher, parseTeacherLayerSelection, type AnyModel, type ModelConfig, type TeacherLayerSelection } from '@distillery/models';

export interface DistillConfig extends CommonConfig, TaskConfig {
  teachers: ModelSource[];
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
  { flag: 'teacher-cache', path: 'teacherCache', description: 'folder of cache-teacher shards: train from them without loading the teacher' },
  { flag: 'student', path: 'student', description: 'student folder or hub id (a config.json object in the file starts from scratch)' },
  TASK_FLAG,
  { flag: 'init-from-teacher', path: 'initFromTeacher', description: 'start the student from the teacher: every-other | first-k | layers=0,2,4' },
  ...DATA_FLAGS,
  ...TRAINING_FLAGS,
];

export function parseDistillConfig(f: ConfigFields): DistillConfig {
  f.topLevel(['teacher', 'teacherCache', 'student', 'task', 'taskOptions', 'initFromTeacher', 'tokenizer', 'numLabels', 'data', 'plugins', 'teacherWeights', 'training']);
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
  const task = parseTaskConfig(f);
  return {
    teachers,
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
    const sources = { student: config.student, ...Object.fromEntries(config.teachers.map((t, i) => [roles[i]!, t])), teacherCache: config.teacherCache };
    checkRunOutputs(f, config, sources, opts.resumeFromCheckpoint !== undefined);
    const runConfig = describeRun('distill', { teachers: t, teacherCache: config.teacherCache, student: s, task: config.task, taskOptions: config.taskOptions, initFromTeacher: config.initFromTeacher, tokenizer: tok, numLabels, plugins: f.get('plugins'), teacherWeights }, config.data, args);
    const checkpoint = resumeCheckpoint(opts.resumeFromCheckpoint, args.outputDir, runConfig);
    // With a cache the teacher is never loaded: its outputs (and config) come from the shards.
    const cached = config.teacherCache === undefined ? undefined : CachedTeacher.open(config.teacherCache);
    const task = await resolveTask(config.task, cached ? (cached.config as unknown as ModelConfig) : config.teachers[0]!);
    if (task === 'question-answering' && config.task === undefined) f.fail('task', 'is needed for a question-answering teacher: set task: question-answering (it sets the logitKd plugins\' span target).');
    // Dynamic masking gives the teacher new inputs every epoch, which no cache holds.
    if (cached && task === 'masked-lm') f.fail('teacherCache', 'cannot serve masked-LM distillation: every batch is masked afresh, so the teacher must run live (drop teacherCache).');
    if (cached && config.initFromTeacher !== undefined) f.fail('initFromTeacher', 'needs the teacher\'s weights, and teacherCache never loads them; name the teacher folder (teacher) instead of the cache.');
    // A sequence-classification teacher may be an ONNX export; the other heads load as task models.
    const teachers = cached ? [] : await Promise.all(config.teachers.map(async (t, i) => requireTrainedWeights(await (task === 'sequence-classification' ? loadTeacher(t, { seed: args.seed }) : loadTaskModel(task, t, { seed: args.seed })), f.where(Array.isArray(f.get('teacher')) ? `teacher[${i}]` : 'teacher'))));
    const tokenizer = await loadTokenizer(config.tokenizer, config.teachers[0] ?? config.student);
    const teacherConfig = (cached ? cached.config : teachers[0]!.config) as { numLabels?: number; id2label?: Record<number, string> };
    // The student scores the teacher's classes, in the teacher's order (logit KD compares them index by index).
    const labels = task === 'token-classification' && config.numLabels === undefined && teacherConfig.id2label ? Object.keys(teacherConfig.id2label).map((i) => teacherConfig.id2label![Number(i)]!) : undefined;
    const student = await loadTaskModel(task, config.student, { seed: args.seed, ...(labels ? { labels } : optionalNumLabels(config.numLabels ?? teacherConfig.numLabels)) });
    if (config.initFromTeacher !== undefined) {
      const source = teachers[0]!;
      if ('modelConfig' in source) f.fail('initFromTeacher', 'needs the teacher\'s weights, which an ONNX teacher does not expose; name the teacher\'s safetensors folder.');
      const report = initFromTeacher(student, source as AnyModel, config.initFromTeacher);
      console.error(`[distillery] distill: student initialised from the teacher's layers ${report.teacherLayers.join(', ')} (${report.copied.length} tensors copied, ${report.fresh.length} left fresh)`);
    }
    const data = readCommandData(f, task, config.data, { student, ...Object.fromEntries(teachers.map((t, i) => [roles[i]!, t])) }, tokenizer, config.taskOptions);
    for (const [field, examples] of [['data.train', data.train], ['data.eval', data.evalDataset]] as const) {
      const row = cached && examples ? examples.findIndex((e) => !cached.has(e)) : -1;
      if (row >= 0) f.fail(field, `row ${row + 1} has no outputs in teacher cache ${cached!.dir}; run cache-teacher on this file (${field === 'data.eval' ? '--eval-file' : '--data'}) with the same tokenizer and maxLength.`);
    }

    const trainer = new DistillationTrainer({
      model: student, teacher: cached ?? teachers, plugins: config.plugins, args,
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
  });
}

function optionalNumLabels(numLabels: number | undefined): { numLabels?: number } {
  return numLabels === undefined ? {} : { numLabels };
}
