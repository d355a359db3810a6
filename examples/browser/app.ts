/**
 * Distil a small student from a teacher folder in the browser: WebGPU when the browser has it,
 * wasm otherwise, with a live loss chart. The teacher folder (config.json + model.safetensors)
 * comes from a folder picker, or from `?teacher=<url of the folder>` (the test uses that).
 * The student is the teacher's config with half the layers, freshly initialised; the data are
 * synthetic token sequences over the teacher's vocabulary, labelled by whether token 7 occurs.
 * The run checkpoints into the Origin Private File System (the trainer's default store in a
 * browser bundle); afterwards the student is saved there with savePretrained, loaded back with
 * fromPretrained, and its logits compared with the trained model's; the saved files are offered
 * as downloads. State for scripts and tests: `window.distillery` (status, backend, losses,
 * saved files, reload check, error).
 */
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import 'reflect-metadata';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// Registers the webgpu backend only where navigator.gpu exists.
import '@tensorflow/tfjs-backend-webgpu';
import { modelClassFor, parseConfig, parseSafetensors, withOverrides, type AnyModel, type ModelConfig } from '@distillery/models';
import { DistillationTrainer, LogitKdPlugin, type DistillModel } from '@distillery/plugins';
import { defaultFileStore, joinPath, readText } from '@distillery/storage';
import { Rng, listCheckpoints, type Example } from '@distillery/trainer';
import type { PageState } from './page-state.js';

/** The run's folder in the Origin Private File System: checkpoints, then the saved student. */
const RUN_DIR = 'distillery/browser-run';
const STUDENT_DIR = joinPath(RUN_DIR, 'student');

const state: PageState = { status: 'idle', losses: [] };
(window as unknown as { distillery: PageState }).distillery = state;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

function show(text: string): void {
  $('status').textContent = text;
}

/** WebGPU if the browser offers an adapter, else wasm (binaries served beside the page). */
async function pickBackend(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null> } }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (adapter && (await tf.setBackend('webgpu'))) {
    const i = adapter.info ?? {};
    state.adapter = [i.vendor, i.architecture, i.description].filter(Boolean).join(' / ') || 'unknown adapter';
  } else {
    setWasmPaths(new URL('./', location.href).href);
    if (!(await tf.setBackend('wasm'))) await tf.setBackend('cpu');
  }
  await tf.ready();
  state.backend = tf.getBackend();
  $('backend').textContent = `backend: ${state.backend}${state.adapter ? ` (${state.adapter})` : gpu ? ' (no WebGPU adapter)' : ' (no WebGPU in this browser)'}`;
}

/** config.json and model.safetensors of the teacher folder, from a URL or picked files. */
async function teacherFiles(): Promise<{ config: unknown; weights: Uint8Array; source: string }> {
  const picked = [...($('folder') as HTMLInputElement).files ?? []];
  if (picked.length > 0) {
    const find = (name: string): File => {
      const f = picked.find((x) => x.name === name);
      if (!f) throw new Error(`the picked folder has no ${name}; pick a model folder saved by savePretrained or HF save_pretrained`);
      return f;
    };
    return { config: JSON.parse(await find('config.json').text()), weights: new Uint8Array(await find('model.safetensors').arrayBuffer()), source: 'picked folder' };
  }
  const base = new URL(params.get('teacher') ?? '', location.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const get = async (name: string): Promise<Response> => {
    const r = await fetch(new URL(name, base));
    if (!r.ok) throw new Error(`${new URL(name, base).href}: HTTP ${r.status}; ?teacher= must name a folder with config.json and model.safetensors`);
    return r;
  };
  return { config: await (await get('config.json')).json(), weights: new Uint8Array(await (await get('model.safetensors')).arrayBuffer()), source: base.href };
}

/** The teacher's config with half the layers: same width, so logits distil without a projector. */
function studentConfig(config: ModelConfig): ModelConfig {
  const half = (n: number) => Math.max(1, Math.floor(n / 2));
  return config.modelType === 'distilbert' ? withOverrides(config, { nLayers: half(config.nLayers) }) : withOverrides(config, { numHiddenLayers: half(config.numHiddenLayers) } as never);
}

function drawChart(): void {
  const svg = $('chart') as unknown as SVGSVGElement;
  const [w, h, pad] = [560, 240, 30];
  const pts = state.losses;
  if (pts.length === 0) return;
  const maxStep = Math.max(...pts.map((p) => p.step));
  const [lo, hi] = [Math.min(...pts.map((p) => p.loss)), Math.max(...pts.map((p) => p.loss))];
  const x = (s: number) => pad + ((w - 2 * pad) * s) / maxStep;
  const y = (l: number) => h - pad - ((h - 2 * pad) * (l - lo)) / (hi - lo || 1);
  svg.innerHTML = `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#999"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#999"/>
<text x="${pad}" y="${pad - 8}" font-size="12">loss ${hi.toFixed(3)}</text><text x="${pad}" y="${h - 8}" font-size="12">${lo.toFixed(3)}</text><text x="${w - pad}" y="${h - 8}" font-size="12" text-anchor="end">step ${maxStep}</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts.map((p) => `${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join(' ')}"/>`;
}

/** Logits of `model` for a fixed batch, read with `await data()` (on WebGPU they live on the device). */
async function probeLogits(model: AnyModel, vocab: number): Promise<Float32Array> {
  const ids = [[2, 7, 5 % vocab, 9 % vocab, 3], [2, 11 % vocab, 7, 3, 0]];
  const mask = [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]];
  // The student has a sequence-classification head: its output has logits.
  const out = tf.tidy(() => (model.forward({ inputIds: tf.tensor2d(ids, undefined, 'int32'), attentionMask: tf.tensor2d(mask, undefined, 'int32') }) as { logits: tf.Tensor }).logits);
  const values = (await out.data()) as Float32Array;
  out.dispose();
  return values;
}

/** Save the student to OPFS, load it back, compare logits, and list what the run left there (with download links). */
async function saveAndReload(student: AnyModel, config: ModelConfig, vocab: number): Promise<void> {
  const store = defaultFileStore();
  show('saving the student to the Origin Private File System…');
  await student.savePretrained(STUDENT_DIR);
  const reloaded = await modelClassFor(config).fromPretrained(STUDENT_DIR, { log: false });
  const [a, b] = [await probeLogits(student, vocab), await probeLogits(reloaded, vocab)];
  reloaded.dispose();
  const maxAbsDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  state.reload = { identical: a.length === b.length && a.every((v, i) => Object.is(v, b[i])), maxAbsDiff, values: a.length };
  const checkpoint = (await listCheckpoints(RUN_DIR)).at(-1)?.dir ?? '(none)';
  const metricsLines = (await readText(store, joinPath(RUN_DIR, 'metrics.jsonl'))).trim().split('\n').length;
  state.saved = { runFiles: await store.list(RUN_DIR), checkpoint, checkpointFiles: await store.list(checkpoint), studentFiles: await store.list(STUDENT_DIR), metricsLines };
  $('saved').textContent = `saved in OPFS: ${checkpoint} (${state.saved.checkpointFiles.length} files) and ${STUDENT_DIR}; reloaded student ${state.reload.identical ? 'gives identical logits' : `differs (max |Δ| ${maxAbsDiff})`}. Download the student:`;
  const list = $('files');
  list.replaceChildren();
  for (const name of state.saved.studentFiles) {
    const bytes = await store.readFile(joinPath(STUDENT_DIR, name));
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    link.download = name;
    link.textContent = `${name} (${bytes.byteLength} bytes)`;
    const item = document.createElement('li');
    item.append(link);
    list.append(item);
  }
}

async function run(): Promise<void> {
  state.status = 'loading';
  show('loading the teacher…');
  const files = await teacherFiles();
  const config = parseConfig(files.config, `${files.source} config.json`);
  const teacher = modelClassFor(config).fromConfig(config);
  teacher.loadStateDict(parseSafetensors(files.weights, `${files.source} model.safetensors`).tensors, { source: files.source });
  const student = modelClassFor(config).fromConfig(studentConfig(config), 1);

  const rng = new Rng(7);
  const vocab = Math.min(config.vocabSize, 100);
  const train: Example[] = Array.from({ length: 64 }, () => {
    const ids = [2, ...Array.from({ length: 6 + Math.floor(rng.next() * 8) }, () => 4 + Math.floor(rng.next() * (vocab - 4))), 3];
    return { inputIds: ids, label: ids.includes(7) ? 1 : 0 };
  });
  const maxSteps = Number(params.get('steps') ?? 40);
  const trainer = new DistillationTrainer({
    model: student as unknown as DistillModel & ConstructorParameters<typeof DistillationTrainer>[0]['model'],
    teacher: teacher as unknown as DistillModel,
    plugins: [new LogitKdPlugin({ alpha: 1, temperature: 2 })],
    trainDataset: train,
    // Checkpoints (one, at the last step) and metrics.jsonl go to OPFS, the default store in a browser bundle.
    args: { outputDir: RUN_DIR, maxSteps, perDeviceTrainBatchSize: 8, learningRate: 5e-3, warmupSteps: 0, loggingSteps: 2, saveStrategy: 'steps', saveSteps: maxSteps, reportTo: ['jsonl'], disableTqdm: true, seed: 3 },
  });
  trainer.addCallback({
    onLog: (_args, _state, _control, ctx) => {
      const logs = ctx.logs;
      if (logs?.loss === undefined) return;
      state.losses.push({ step: trainer.state.globalStep, loss: logs.loss });
      show(`step ${trainer.state.globalStep}/${maxSteps}: loss ${logs.loss.toFixed(4)}`);
      drawChart();
    },
  });
  state.status = 'training';
  show(`distilling ${config.modelType} (${('numHiddenLayers' in config ? config.numHiddenLayers : config.nLayers)} layers) → half the layers on ${state.backend}…`);
  // A fresh run: whatever an earlier visit left in OPFS goes first.
  await defaultFileStore().remove(RUN_DIR);
  await trainer.train();
  await saveAndReload(student, config, vocab);
  state.status = 'done';
  show(`done: loss ${state.losses[0]?.loss.toFixed(4)} → ${state.losses.at(-1)?.loss.toFixed(4)} in ${maxSteps} steps on ${state.backend}`);
}

async function start(): Promise<void> {
  ($('start') as HTMLButtonElement).disabled = true;
  try {
    await run();
  } catch (e) {
    state.status = 'error';
    state.error = (e as Error).message;
    show(`error: ${state.error}`);
  }
}

await pickBackend();
$('start').addEventListener('click', () => void start());
if (params.has('teacher')) void start();
