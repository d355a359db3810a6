/**
 * `pnpm demo`: offline knowledge distillation on the SpamAssassin corpus.
 *
 *   1. teacher: a 4-layer BERT trained from scratch on every training label (cached, reused),
 *      or --teacher DIR|hub-id
 *   2. student alone: a 2-layer, half-width BERT on a small labelled fraction
 *   3. student distilled: the same student on the same fraction plus the rest of train as an
 *      unlabelled transfer set, pulled towards the teacher by logit KD + hidden + attention terms
 *   4. table, HF-format student folder, HTML report, optional --json
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  AutoModelForSequenceClassification, AutoTokenizer, BertForSequenceClassification, bertBaseUncasedVocab, resolveModelDir, writeWordPieceTokenizer,
} from '@distillery/models';
import { AttentionPlugin, DistillationTrainer, HiddenStatePlugin, LogitKdPlugin } from '@distillery/plugins';
import { Trainer, accuracy, argmaxPredictions, f1, initBackend } from '@distillery/trainer';
import type { EvalPrediction, Example, LogEntry, TrainerCallback } from '@distillery/trainer';
import { DEMO_USAGE, parseDemoArgs, checkDemoPaths } from './args.js';
import type { DemoOptions } from './args.js';
import { SemiSupervisedCollator } from './collator.js';
import type { TransferExample } from './collator.js';
import { formatDataStats, loadSpamAssassin } from './data.js';
import { encodeSplit, encodeTexts, toExamples } from './encode.js';
import { DistilleryDemoError } from './errors.js';
import { countParameters } from './params.js';
import { demoPreset } from './presets.js';
import type { DemoPreset, RunSettings } from './presets.js';
import { runMlmDemo } from './mlm.js';
import { writeReport } from './report.js';
import type { RunLog } from './report.js';
import { checkTargets, formatResultsTable } from './results.js';
import type { ModelResult } from './results.js';
import { msPerExample } from './timing.js';
import { int8Line, scoreOnnx } from './onnx.js';
import { exportOnnx } from '@distillery/onnx';

type Classifier = BertForSequenceClassification;

function computeMetrics(p: EvalPrediction): Record<string, number> {
  const { predicted, labels } = argmaxPredictions(p);
  return { accuracy: accuracy(predicted, labels), f1: f1(predicted, labels) }; // F1 of the spam class
}

/** One line per evaluation when no progress bar is drawn (CI logs), so a run shows it is alive. */
function evalPrinter(name: string): TrainerCallback {
  return {
    name: 'DemoEvalPrinter',
    onEvaluate: (_args, state, _control, ctx) => {
      const m = ctx.metrics ?? {};
      console.log(`  [${name}] step ${state.globalStep}/${state.maxSteps}  val accuracy ${m.eval_accuracy?.toFixed(4)}  f1 ${m.eval_f1?.toFixed(4)}`);
    },
  };
}

/** Evaluate at the last step unless the schedule just did, so every curve ends where training ended. */
async function evaluateAtEnd(trainer: { state: { globalStep: number; logHistory: LogEntry[] }; evaluate(): Promise<unknown> }): Promise<void> {
  const evals = trainer.state.logHistory.filter((e) => 'eval_accuracy' in e);
  if (evals.at(-1)?.step !== trainer.state.globalStep) await trainer.evaluate();
}

function trainingArgs(outputDir: string, run: RunSettings, seed: number) {
  return {
    outputDir,
    numTrainEpochs: run.epochs,
    perDeviceTrainBatchSize: run.batchSize,
    perDeviceEvalBatchSize: 64,
    learningRate: run.learningRate,
    weightDecay: 0.01,
    warmupRatio: 0.1,
    loggingSteps: run.loggingSteps,
    evalStrategy: 'steps' as const,
    evalSteps: run.evalSteps,
    saveStrategy: 'no' as const,
    seed,
    reportTo: [],
  };
}

/** Puts the tokenizer next to a saved model, so the folder loads as a whole (HF layout). */
function copyTokenizer(fromDir: string, toDir: string): void {
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
    if (existsSync(join(fromDir, file))) copyFileSync(join(fromDir, file), join(toDir, file));
  }
}

/** The cached teacher's folder: a hash of everything that shapes it, so a change retrains. */
function teacherCacheDir(options: DemoOptions, preset: DemoPreset): string {
  const { epochs, batchSize, learningRate } = preset.teacherRun; // logging and eval cadence do not change the weights
  const key = createHash('sha256').update(JSON.stringify({ v: 1, teacher: preset.teacher, epochs, batchSize, learningRate, maxLength: preset.maxLength })).digest('hex').slice(0, 12);
  return resolve(options.cacheDir, `teacher-${preset.name}-${key}`);
}

interface Teacher {
  model: Classifier;
  log: RunLog['logHistory'];
  source: string;
}

async function loadOrTrainTeacher(options: DemoOptions, preset: DemoPreset, train: Example[], validation: Example[], tokenizerDir: string): Promise<Teacher> {
  if (options.teacher) {
    const model = (await AutoModelForSequenceClassification.fromPretrained(options.teacher)) as Classifier;
    if (model.config.numLabels !== 2) {
      throw new DistilleryDemoError('OPTION_INVALID', `--teacher ${options.teacher}: has numLabels=${model.config.numLabels}; the demo needs a 2-label (ham/spam) sequence classifier`);
    }
    return { model, log: [], source: options.teacher };
  }
  const dir = teacherCacheDir(options, preset);
  const logFile = join(dir, 'log_history.json');
  if (existsSync(join(dir, 'model.safetensors')) && existsSync(logFile)) {
    console.log(`teacher: reusing ${dir}`);
    return { model: await BertForSequenceClassification.fromPretrained(dir), log: JSON.parse(readFileSync(logFile, 'utf8')) as LogEntry[], source: dir };
  }
  console.log(`teacher: training from scratch (cached in ${dir} for later runs)`);
  // A fixed seed: the teacher is shared by runs with any --seed, which vary only the students.
  const model = new BertForSequenceClassification(preset.teacher, 42);
  const trainer = new Trainer({
    model, args: trainingArgs(join(options.outDir, 'runs', 'teacher'), preset.teacherRun, 42),
    trainDataset: train, evalDataset: validation, computeMetrics, callbacks: [evalPrinter('teacher')],
  });
  await trainer.train();
  await evaluateAtEnd(trainer);
  trainer.optimizer.dispose();
  await model.savePretrained(dir);
  copyTokenizer(tokenizerDir, dir);
  writeFileSync(logFile, JSON.stringify(trainer.state.logHistory));
  return { model, log: trainer.state.logHistory, source: dir };
}

async function trainStudentAlone(options: DemoOptions, preset: DemoPreset, labelled: Example[], validation: Example[]): Promise<{ model: Classifier; log: LogEntry[] }> {
  const model = new BertForSequenceClassification(preset.student, options.seed);
  const trainer = new Trainer({
    model, args: trainingArgs(join(options.outDir, 'runs', 'student-alone'), preset.studentRun, options.seed),
    trainDataset: labelled, evalDataset: validation, computeMetrics, callbacks: [evalPrinter('student alone')],
  });
  await trainer.train();
  await evaluateAtEnd(trainer);
  trainer.optimizer.dispose();
  return { model, log: trainer.state.logHistory };
}

async function distilStudent(options: DemoOptions, preset: DemoPreset, teacher: Classifier, transfer: TransferExample[], validation: Example[]): Promise<{ model: Classifier; log: LogEntry[] }> {
  const model = new BertForSequenceClassification(preset.student, options.seed); // the same init as the student alone
  const { temperature, alpha, hiddenWeight, attentionWeight } = preset.kd;
  const trainer = new DistillationTrainer<TransferExample>({
    model, teacher,
    args: trainingArgs(join(options.outDir, 'runs', 'student-distilled'), preset.distillRun, options.seed),
    trainDataset: transfer, evalDataset: validation, computeMetrics,
    dataCollator: new SemiSupervisedCollator(),
    plugins: [new LogitKdPlugin({ temperature, alpha }), new HiddenStatePlugin({ weight: hiddenWeight }), new AttentionPlugin({ weight: attentionWeight, target: 'scores' })],
    distillation: { seed: options.seed },
    callbacks: [evalPrinter('student distilled')],
  });
  await trainer.train();
  await evaluateAtEnd(trainer);
  trainer.optimizer.dispose();
  trainer.objective.dispose(); // plugin projections
  return { model, log: trainer.state.logHistory };
}

/** Test-set accuracy/F1 and the predicted classes. */
async function evaluateOn(model: Classifier, test: Example[], outDir: string): Promise<{ accuracy: number; f1: number; predicted: number[] }> {
  const trainer = new Trainer({ model, args: { outputDir: join(outDir, 'runs', 'eval'), perDeviceEvalBatchSize: 64, disableTqdm: true, reportTo: [] }, computeMetrics });
  const out = await trainer.predict(test);
  return { accuracy: out.metrics.test_accuracy ?? NaN, f1: out.metrics.test_f1 ?? NaN, predicted: argmaxPredictions(out).predicted };
}

/** One row of the table: test metrics, parameter counts and inference speed. */
async function score(name: string, model: Classifier, test: Example[], outDir: string): Promise<ModelResult & { predicted: number[] }> {
  const c = model.config;
  return {
    name,
    description: `BERT L=${c.numHiddenLayers} H=${c.hiddenSize} A=${c.numAttentionHeads}`,
    ...(await evaluateOn(model, test, outDir)),
    ...countParameters(model.namedParameters()),
    msPerExample: await msPerExample(model, test),
  };
}

async function main(): Promise<void> {
  const options = parseDemoArgs(process.argv.slice(2));
  if (options.help) {
    console.log(DEMO_USAGE);
    return;
  }
  checkDemoPaths(options);
  const backend = await initBackend(options.backend ? { backend: options.backend } : {});
  if (options.task === 'masked-lm') {
    await runMlmDemo(options);
    return;
  }
  const started = performance.now();
  const preset = demoPreset(options.quick);

  // ---- data ----
  const data = loadSpamAssassin({ labelledFraction: options.labelledFraction, seed: options.seed });
  console.log(formatDataStats(data.stats));
  const tokenizerDir = options.teacher && existsSync(join(await resolveModelDir(options.teacher), 'tokenizer.json'))
    ? await resolveModelDir(options.teacher)
    : writeWordPieceTokenizer(bertBaseUncasedVocab(), resolve(options.cacheDir, 'bert-base-uncased-tokenizer'), { modelMaxLength: preset.maxLength });
  const tokenizer = await AutoTokenizer.fromPretrained(tokenizerDir);
  const tokenize = (texts: string[]) => tokenizer.encode(texts, { maxLength: preset.maxLength, truncation: true });
  const encode = async (split: { texts: string[]; labels: number[] }) => toExamples(await encodeSplit(split, tokenize));
  const train = await encode(data.train);
  const labelled = await encode(data.labelled);
  const validation = (await encode(data.validation)).slice(0, preset.evalExamples);
  const test = await encode(data.test);
  const unlabelled = await encodeTexts(data.unlabelled, tokenize);
  const transfer: TransferExample[] = [
    ...labelled.map(({ label, ...rest }) => ({ ...rest, hardLabel: label })),
    ...unlabelled.inputIds.map((inputIds, i) => ({ inputIds, attentionMask: unlabelled.attentionMask[i] ?? [] })),
  ];
  console.log(`tokenized with ${tokenizerDir} (max ${preset.maxLength} tokens)`);

  // ---- the three models ----
  const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(0)} s`;
  let phase = performance.now();
  const teacher = await loadOrTrainTeacher(options, preset, train, validation, tokenizerDir);
  console.log(`teacher ready (${seconds(phase)})\nstudent alone: ${labelled.length} labelled examples`);
  phase = performance.now();
  const alone = await trainStudentAlone(options, preset, labelled, validation);
  console.log(`student alone trained (${seconds(phase)})\nstudent distilled: ${labelled.length} labelled + ${unlabelled.inputIds.length} unlabelled examples`);
  phase = performance.now();
  const distilled = await distilStudent(options, preset, teacher.model, transfer, validation);
  console.log(`student distilled (${seconds(phase)})`);
  phase = performance.now();

  // ---- results ----
  const results = [
    await score('teacher', teacher.model, test, options.outDir),
    await score('student alone', alone.model, test, options.outDir),
    await score('student distilled', distilled.model, test, options.outDir),
  ];
  const [t, a, d] = results as [ModelResult, ModelResult, ModelResult & { predicted: number[] }];
  // The distilled student as it ships: ONNX (transformers.js layout), fp32 and dynamic int8.
  const onnxDir = resolve(options.outDir, 'student-distilled-onnx');
  await exportOnnx(distilled.model, onnxDir, { quantize: true, tokenizerDir });
  const onnx = { fp32: await scoreOnnx('student · ONNX fp32', onnxDir, 'fp32', test, d), int8: await scoreOnnx('student · ONNX int8', onnxDir, 'q8', test, d) };
  results.push({ ...onnx.fp32, predicted: [] }, { ...onnx.int8, predicted: [] });
  const checks = [...checkTargets(t, a, d), int8Line(onnx.fp32, onnx.int8)];
  console.log(`scored on the test set (${seconds(phase)})`);
  console.log(`\ntest set: ${test.length} emails\n${formatResultsTable(results)}\n${checks.map((c) => c.line).join('\n')}`);

  // ---- the distilled student as an HF folder, checked by loading it back ----
  const studentDir = resolve(options.outDir, 'student-distilled');
  await distilled.model.savePretrained(studentDir);
  copyTokenizer(tokenizerDir, studentDir);
  const reloaded = await BertForSequenceClassification.fromPretrained(studentDir);
  const again = await evaluateOn(reloaded, test, options.outDir);
  const same = again.predicted.every((p, i) => p === d.predicted[i]);
  console.log(`saved ${studentDir}: reloaded with fromPretrained, ${same ? 'identical' : 'DIFFERENT'} predictions on ${test.length} test emails`);

  const settings = {
    preset: preset.name, seed: options.seed, 'labelled fraction': options.labelledFraction, 'max tokens': preset.maxLength,
    backend: `${backend.backend} (${backend.provider}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'})`,
    teacher: teacher.source, 'wall time': seconds(started),
  };
  const reportPath = writeReport(resolve(options.outDir, 'report.html'), {
    title: 'distillery demo: spam filtering on SpamAssassin',
    createdAt: new Date().toISOString(),
    settings,
    results: results.map(({ predicted: _p, ...r }) => r),
    runs: [{ name: 'teacher', logHistory: teacher.log }, { name: 'student alone', logHistory: alone.log }, { name: 'student distilled', logHistory: distilled.log }],
    data: data.stats,
    notes: checks.map((c) => c.line),
  });
  console.log(`report: ${reportPath}`);
  if (options.json) {
    const pick = ({ accuracy, f1, params, encoderParams, msPerExample }: ModelResult) => ({ accuracy, f1, params, encoderParams, msPerExample });
    const json = { settings, teacher: pick(t), studentAlone: pick(a), studentDistilled: pick(d), onnx: { dir: onnxDir, fp32: pick(onnx.fp32), int8: pick(onnx.int8) }, checks: checks.map((c) => ({ pass: c.pass, line: c.line })), reloadedIdentical: same };
    mkdirSync(resolve(options.json, '..'), { recursive: true });
    writeFileSync(options.json, JSON.stringify(json, null, 2));
    console.log(`json: ${resolve(options.json)}`);
  }
  for (const m of [teacher.model, alone.model, distilled.model, reloaded]) m.dispose();
  console.log(`done in ${seconds(started)} (${tf.memory().numTensors} tensors left)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
  process.exitCode = 1;
});
