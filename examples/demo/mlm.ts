/**
 * `pnpm demo --task masked-lm`: general distillation, DistilBERT style, on real English text
 * shipped in npm (`nlp-corpus` sentences).
 *
 *   1. a WordPiece vocabulary from the training sentences (frequent words + characters)
 *   2. teacher: a 4-layer BertForMaskedLM trained from scratch with dynamic masking (15%, 80/10/10)
 *   3. two DistilBertForMaskedLM students, half as deep: one initialised from every other teacher
 *      layer (embeddings and MLM head too), one random; both distilled the same way (soft targets
 *      at T=2 on the masked positions + MLM loss, cosine on the last hidden states)
 *   4. held-out MLM loss and perplexity along the way (same masked positions for every model):
 *      table, curves and an HTML report
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { some as corpusSentences } from 'nlp-corpus';
import { AutoTokenizer, BertForMaskedLM, DistilBertForMaskedLM, createConfig, initFromTeacher, writeWordPieceTokenizer } from '@distillery/models';
import { CosinePlugin, DistillationTrainer, LogitKdPlugin } from '@distillery/plugins';
import {
  DataCollatorForLanguageModeling, Trainer, languageModelingExamples, maskedEvalExamples, perplexity, splitWords,
  type Example, type TrainerCallback, type TrainingArgumentsInit,
} from '@distillery/trainer';
import type { DemoOptions } from './args.js';
import { escapeXml, lineChart } from './chart.js';
import { REPORT_CSS } from './report.js';
import { msPerExample } from './timing.js';

interface MlmPreset {
  sentences: number;
  vocabWords: number;
  maxLength: number;
  width: number;
  teacherSteps: number;
  distillSteps: number;
  evalEvery: number;
}

const PRESETS: Record<'quick' | 'full', MlmPreset> = {
  quick: { sentences: 600, vocabWords: 600, maxLength: 32, width: 64, teacherSteps: 120, distillSteps: 40, evalEvery: 10 },
  full: { sentences: 6000, vocabWords: 3000, maxLength: 64, width: 128, teacherSteps: 1500, distillSteps: 500, evalEvery: 50 },
};

/** Special tokens, then characters and their continuations, then the most frequent words. */
function corpusVocabulary(sentences: readonly string[], words: number): string[] {
  const counts = new Map<string, number>();
  for (const s of sentences) for (const { word } of splitWords(s.toLowerCase())) counts.set(word, (counts.get(word) ?? 0) + 1);
  const chars = [...new Set([...counts.keys()].flatMap((w) => [...w]))].sort();
  const frequent = [...counts].sort((a, b) => b[1] - a[1]).map(([w]) => w).filter((w) => w.length > 1).slice(0, words);
  return ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', ...chars, ...chars.map((c) => `##${c}`), ...frequent];
}

interface Curve {
  name: string;
  points: Array<[number, number]>;
}

/** Held-out MLM loss of `model` (its own loss on the fixed masked positions). */
async function evalLoss(model: BertForMaskedLM | DistilBertForMaskedLM, evalSet: Example[], outDir: string): Promise<number> {
  const trainer = new Trainer({ model, args: { outputDir: outDir, perDeviceEvalBatchSize: 64, reportTo: [], disableTqdm: true } });
  return (await trainer.evaluate(evalSet)).eval_loss!;
}

/** Every `every` steps (and at the last), the held-out perplexity onto `curve`. */
function perplexityTracker(model: BertForMaskedLM | DistilBertForMaskedLM, evalSet: Example[], outDir: string, every: number, curve: Curve): TrainerCallback {
  return {
    name: 'DemoPerplexity',
    onStepEnd: async (_args, state) => {
      if (state.globalStep % every !== 0 && state.globalStep !== state.maxSteps) return;
      const ppl = perplexity(await evalLoss(model, evalSet, outDir));
      curve.points.push([state.globalStep, ppl]);
      console.log(`  [${curve.name}] step ${state.globalStep}/${state.maxSteps}  held-out perplexity ${ppl.toFixed(2)}`);
    },
  };
}

const args = (outputDir: string, maxSteps: number, seed: number): TrainingArgumentsInit => ({
  outputDir, maxSteps, perDeviceTrainBatchSize: 16, learningRate: 2e-3, warmupRatio: 0.1, weightDecay: 0.01, saveStrategy: 'no', reportTo: [], disableTqdm: true, seed,
});

interface Row {
  model: string;
  description: string;
  loss: number;
  perplexity: number;
  params: number;
  msPerExample: number;
}

function renderReport(title: string, settings: Record<string, string | number>, rows: readonly Row[], curves: readonly Curve[]): string {
  const table = `<table><thead><tr><th>model</th><th>architecture</th><th>held-out MLM loss</th><th>perplexity</th><th>parameters</th><th>ms / example</th></tr></thead><tbody>${rows
    .map((r) => `<tr><td>${escapeXml(r.model)}</td><td>${escapeXml(r.description)}</td><td>${r.loss.toFixed(4)}</td><td>${r.perplexity.toFixed(2)}</td><td>${r.params.toLocaleString('en')}</td><td>${r.msPerExample.toFixed(2)}</td></tr>`)
    .join('')}</tbody></table>`;
  const chart = lineChart(curves.map((c) => ({ name: c.name, points: c.points })), { title: 'held-out perplexity while distilling', xLabel: 'step', yLabel: 'perplexity', yScale: 'log' });
  const dl = Object.entries(settings).map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(String(v))}</dd>`).join('');
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeXml(title)}</title>\n<style>${REPORT_CSS}</style>\n</head>\n<body>\n<h1>${escapeXml(title)}</h1>\n<dl class="settings">${dl}</dl>\n<h2>Results (held-out sentences)</h2>\n${table}\n<h2>Curves</h2>\n<div class="charts">${chart}</div>\n<script type="application/json" id="summary">${JSON.stringify({ settings, rows, curves }).replace(/</g, '\\u003c')}</script>\n</body>\n</html>\n`;
}

export async function runMlmDemo(options: DemoOptions): Promise<void> {
  const started = performance.now();
  const preset = PRESETS[options.quick ? 'quick' : 'full'];
  const out = resolve(options.outDir, 'masked-lm');
  const sentences = corpusSentences(preset.sentences);
  const split = Math.floor(sentences.length * 0.9);
  const tokenizerDir = writeWordPieceTokenizer(corpusVocabulary(sentences.slice(0, split), preset.vocabWords), resolve(out, 'tokenizer'), { modelMaxLength: preset.maxLength });
  const tokenizer = await AutoTokenizer.fromPretrained(tokenizerDir);
  const masking = { vocabSize: tokenizer.vocabSize, maskTokenId: tokenizer.maskTokenId!, specialTokenIds: [0, 2, 3] };
  const train = languageModelingExamples(sentences.slice(0, split), tokenizer, { maxLength: preset.maxLength });
  const evalSet = maskedEvalExamples(languageModelingExamples(sentences.slice(split), tokenizer, { maxLength: preset.maxLength }), { ...masking, seed: 1 });
  const collator = (seed: number) => new DataCollatorForLanguageModeling({ ...masking, seed });
  console.log(`nlp-corpus: ${sentences.length} sentences → ${train.length} training blocks of ${preset.maxLength} tokens, ${evalSet.length} held-out; vocabulary ${tokenizer.vocabSize} word pieces from the training text`);

  const h = preset.width;
  const teacher = new BertForMaskedLM(createConfig('bert', { vocabSize: tokenizer.vocabSize, hiddenSize: h, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 4 * h, maxPositionEmbeddings: preset.maxLength }), 42);
  console.log(`teacher: BERT L=4 H=${h}, ${preset.teacherSteps} steps of masked-LM training`);
  await new Trainer({ model: teacher, args: args(resolve(out, 'runs', 'teacher'), preset.teacherSteps, 42), trainDataset: train, dataCollator: collator(42) }).train();

  const studentConfig = createConfig('distilbert', { vocabSize: tokenizer.vocabSize, dim: h, nLayers: 2, nHeads: 4, hiddenDim: 4 * h, maxPositionEmbeddings: preset.maxLength });
  const curves: Curve[] = [];
  const students: Array<{ name: string; model: DistilBertForMaskedLM }> = [];
  for (const init of ['initialised from the teacher', 'random init'] as const) {
    const model = new DistilBertForMaskedLM(studentConfig, options.seed);
    if (init !== 'random init') {
      const report = initFromTeacher(model, teacher, 'every-other');
      console.log(`student ${init}: teacher layers ${report.teacherLayers.join(', ')} → DistilBERT layers 0, 1 (${report.copied.length} tensors)`);
    }
    const curve: Curve = { name: `student, ${init}`, points: [[0, perplexity(await evalLoss(model, evalSet, out))]] };
    const trainer = new DistillationTrainer({
      model, teacher, args: args(resolve(out, 'runs', init.replace(/ /g, '-')), preset.distillSteps, options.seed), trainDataset: train, dataCollator: collator(options.seed),
      plugins: [new LogitKdPlugin({ temperature: 2, alpha: 0.5 }), new CosinePlugin({ weight: 1 })],
      callbacks: [perplexityTracker(model, evalSet, out, preset.evalEvery, curve)],
      distillation: { seed: options.seed },
    });
    await trainer.train();
    trainer.objective.dispose();
    curves.push(curve);
    students.push({ name: `student, ${init}`, model });
  }

  const rows: Row[] = [];
  for (const { name, model } of [{ name: 'teacher', model: teacher as BertForMaskedLM | DistilBertForMaskedLM }, ...students]) {
    const loss = await evalLoss(model, evalSet, out);
    const c = model.config;
    const description = c.modelType === 'distilbert' ? `DistilBERT L=${c.nLayers} H=${c.dim}` : `BERT L=${teacher.config.numHiddenLayers} H=${teacher.config.hiddenSize}`;
    const params = [...model.namedParameters().values()].reduce((n, v) => n + v.size, 0);
    rows.push({ model: name, description, loss, perplexity: perplexity(loss), params, msPerExample: await msPerExample(model as never, evalSet) });
  }
  const width = Math.max(...rows.map((r) => r.model.length));
  console.log(`\nheld-out masked-LM (${evalSet.length} blocks, the same masked positions for every model)\n${'model'.padEnd(width)}  loss    perplexity  ms/example\n${rows.map((r) => `${r.model.padEnd(width)}  ${r.loss.toFixed(3)}  ${r.perplexity.toFixed(2).padStart(10)}  ${r.msPerExample.toFixed(2).padStart(10)}`).join('\n')}`);
  const [fromTeacher, random] = curves as [Curve, Curve];
  const ahead = fromTeacher.points.filter(([step, p]) => p < (random.points.find(([s]) => s === step)?.[1] ?? Infinity)).length;
  const note = `the teacher-initialised student has the lower perplexity at ${ahead} of ${fromTeacher.points.length} evaluation points`;
  console.log(note);

  const settings = { seed: options.seed, preset: options.quick ? 'quick' : 'full', sentences: sentences.length, 'max tokens': preset.maxLength, 'distillation steps': preset.distillSteps, 'wall time': `${((performance.now() - started) / 1000).toFixed(0)} s`, note };
  mkdirSync(out, { recursive: true });
  const reportPath = resolve(out, 'report.html');
  writeFileSync(reportPath, renderReport('distillery demo: general distillation of a masked LM on nlp-corpus', settings, rows, curves));
  console.log(`report: ${reportPath}`);
  if (options.json) writeFileSync(resolve(options.json), `${JSON.stringify({ settings, rows, curves }, null, 2)}\n`);
  for (const m of [teacher, ...students.map((s) => s.model)]) m.dispose();
}
