/**
 * `OnnxTeacher`: a frozen teacher run by ONNX Runtime from any transformers.js folder
 * (config.json + onnx/model.onnx, or model_quantized.onnx), usable wherever a teacher is
 * (DistillationTrainer, TeacherCache, the CLI's --teacher).
 *
 * onnxruntime-node is used directly rather than through transformers.js' model loading: the
 * teacher only needs a session and the config's label and vocabulary fields, and loading that
 * way measured ~80 ms CPU against ~300 ms for importing transformers.js and its from_pretrained
 * (process.cpuUsage, tiny BERT, this machine), with the same per-batch run.
 *
 * The trainer asks teachers synchronously (the collator runs before the tape opens) while ONNX
 * Runtime only runs asynchronously, so the session lives in a worker thread: `forward` posts the
 * batch, blocks on an Atomics.wait until the worker signals, and takes the reply with
 * receiveMessageOnPort. The main thread is idle while ONNX Runtime computes anyway.
 *
 * Layer plugins (hidden states, attentions) work when the graph has the per-layer outputs
 * (`distillery export --hidden-states --attentions`, optimum's `hidden_states.{i}` names); each
 * batch fetches only what the plugins ask for.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { hostValues, loadConfig, type ModelConfig } from '@distillery/models';
import type { DistillBatch, DistillForwardOptions, DistillModel, DistillOutputs, ModelShape, OutputRequest } from '@distillery/plugins';
import { DistilleryOnnxError } from './errors.js';
import { layerOutputNames, requested, type LayerOutput } from './layer-outputs.js';

/** The config fields the distillation checks read (labels, vocabulary), from any model_type. */
export interface OnnxTeacherConfig {
  modelType: string;
  numLabels: number;
  id2label: Record<number, string>;
  vocabSize?: number;
  padTokenId?: number | null;
}

/** An HF config.json's layer count, width and heads (DistilBERT's own keys too), when it has all three. */
function configShape(raw: Record<string, unknown>): ModelShape | undefined {
  const int = (...keys: string[]): number | undefined => keys.map((k) => raw[k]).find((v): v is number => Number.isInteger(v));
  const [numLayers, hiddenSize, numHeads] = [int('num_hidden_layers', 'n_layers'), int('hidden_size', 'dim'), int('num_attention_heads', 'n_heads')];
  return numLayers !== undefined && hiddenSize !== undefined && numHeads !== undefined ? { numLayers, hiddenSize, numHeads } : undefined;
}

export interface OnnxTeacherOptions {
  /** `q8` loads onnx/model_quantized.onnx (as transformers.js' dtype). Default fp32. */
  dtype?: 'fp32' | 'q8';
  /** Longest a batch may run before the teacher gives up. Default 10 minutes. */
  timeoutMs?: number;
}

interface RunReply {
  outputs?: Record<string, { data: Float32Array; dims: number[] }>;
  error?: string;
}

/** The worker: one session, one batch at a time; the reply is posted before the signal flips. */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { ortUrl, modelPath, signal, port } = workerData;
(async () => {
  const ort = await import(ortUrl);
  const session = await ort.InferenceSession.create(modelPath);
  port.on('message', async ({ feeds, fetches }) => {
    let reply;
    try {
      const inputs = {};
      for (const [name, { data, dims }] of Object.entries(feeds)) inputs[name] = new ort.Tensor('int64', data, dims);
      const out = await session.run(inputs, fetches);
      reply = { outputs: Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data, dims: t.dims.map(Number) }])) };
    } catch (e) {
      reply = { error: String(e && e.message || e) };
    }
    port.postMessage(reply);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  });
  parentPort.postMessage({ ready: true, inputNames: session.inputNames, outputNames: session.outputNames });
})().catch((e) => parentPort.postMessage({ error: String(e && e.message || e) }));
`;

function readTeacherConfig(dir: string): { config: OnnxTeacherConfig; shape: ModelShape | undefined } {
  const file = join(dir, 'config.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new DistilleryOnnxError('TEACHER_INVALID', `${file}: cannot read the teacher's config (${(cause as Error).message}); an ONNX teacher folder needs config.json beside onnx/model.onnx (as distillery export writes).`, { cause });
  }
  const labels = raw.id2label && typeof raw.id2label === 'object' ? (raw.id2label as Record<string, string>) : undefined;
  const numLabels = labels ? Object.keys(labels).length : typeof raw.num_labels === 'number' ? raw.num_labels : 2;
  const id2label = labels ? Object.fromEntries(Object.entries(labels).map(([k, v]) => [Number(k), v])) : Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [i, `LABEL_${i}`]));
  const config = {
    modelType: typeof raw.model_type === 'string' ? raw.model_type : 'onnx',
    numLabels,
    id2label,
    ...(typeof raw.vocab_size === 'number' ? { vocabSize: raw.vocab_size } : {}),
    ...(typeof raw.pad_token_id === 'number' || raw.pad_token_id === null ? { padTokenId: raw.pad_token_id as number | null } : {}),
  };
  return { config, shape: configShape(raw) };
}

export class OnnxTeacher implements DistillModel {
  private disposed = false;
  /** The full config when config.json is one @distillery/models parses (any `distillery export`): token and position limits. */
  readonly modelConfig: ModelConfig | undefined;
  /** The graph's `hidden_states.{i}` / `attentions.{i}` / `attention_scores.{i}` outputs, in layer order. */
  private readonly layerOutputs: Record<LayerOutput['key'], string[]>;

  private constructor(
    /** The .onnx file the session runs. */
    readonly file: string,
    readonly dir: string,
    readonly config: OnnxTeacherConfig,
    /** Layers, width and heads from config.json, so plugins can set up without a probe forward. */
    readonly modelShape: ModelShape | undefined,
    private readonly worker: Worker,
    private readonly port: MessagePort,
    /** Flipped to 1 by the worker when its reply is on the port. */
    private readonly signal: Int32Array,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    private readonly timeoutMs: number,
  ) {
    this.layerOutputs = layerOutputNames(outputNames);
    try {
      this.modelConfig = loadConfig(dir);
    } catch {
      // A transformers.js folder of a family the ports lack: labels and vocabulary come from config.json alone.
      this.modelConfig = undefined;
    }
  }

  static async fromPretrained(dir: string, options: OnnxTeacherOptions = {}): Promise<OnnxTeacher> {
    const file = join(dir, 'onnx', options.dtype === 'q8' ? 'model_quantized.onnx' : 'model.onnx');
    if (!existsSync(file)) {
      throw new DistilleryOnnxError('TEACHER_INVALID', `${file}: not found; an ONNX teacher is a transformers.js folder (config.json + onnx/model.onnx), e.g. from \`distillery export --model DIR --out ${dir}\`${options.dtype === 'q8' ? ' --quantize' : ''}.`);
    }
    const { config, shape } = readTeacherConfig(dir);
    const ortUrl = pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
    const signal = new Int32Array(new SharedArrayBuffer(4));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortUrl, modelPath: file, signal, port: port2 }, transferList: [port2] });
    const ready = await new Promise<{ inputNames: string[]; outputNames: string[] }>((resolve, reject) => {
      worker.once('message', (m: { error?: string; inputNames: string[]; outputNames: string[] }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      worker.once('error', reject);
    }).catch(async (cause: Error) => {
      await worker.terminate();
      throw new DistilleryOnnxError('TEACHER_INVALID', `${file}: ONNX Runtime cannot load it (${cause.message}); re-export the model or check the file is a complete ONNX model.`, { cause });
    });
    if (!ready.outputNames.includes('logits')) {
      await worker.terminate();
      throw new DistilleryOnnxError('TEACHER_INVALID', `${file}: the graph's outputs are ${ready.outputNames.join(', ')}; a teacher needs "logits" (export a task head, e.g. *ForSequenceClassification).`);
    }
    worker.unref();
    return new OnnxTeacher(file, dir, config, shape, worker, port1, signal, ready.inputNames, ready.outputNames, options.timeoutMs ?? 600_000);
  }

  /** An ONNX teacher has no trainable (nor readable) parameters: plugins that read weights (MiniLM values) cannot use it. */
  namedParameters(): Map<string, tf.Variable> {
    return new Map();
  }

  forward(inputs: DistillBatch, options: DistillForwardOptions): DistillOutputs {
    if (this.disposed) throw new DistilleryOnnxError('TEACHER_RUN_FAILED', `ONNX teacher ${this.dir}: used after dispose().`);
    const wanted = requested(options, 'option');
    this.refuseMissing(wanted);
    const [b, s] = inputs.inputIds.shape;
    // The batch comes from a collator, so its values are on the host even on a GPU backend (no device read).
    const int64 = (t: tf.Tensor | undefined, name: string, fill: number): BigInt64Array => (t ? BigInt64Array.from(hostValues(t, name), (v) => BigInt(v)) : new BigInt64Array(b * s).fill(BigInt(fill)));
    const feeds: Record<string, { data: BigInt64Array; dims: number[] }> = {};
    for (const name of this.inputNames) {
      const source = name === 'input_ids' ? inputs.inputIds : name === 'attention_mask' ? inputs.attentionMask : name === 'token_type_ids' ? inputs.tokenTypeIds : undefined;
      if (!['input_ids', 'attention_mask', 'token_type_ids'].includes(name)) {
        throw new DistilleryOnnxError('TEACHER_INVALID', `ONNX teacher ${this.dir}: the graph asks for input "${name}", which an encoder batch does not have (input_ids, attention_mask, token_type_ids).`);
      }
      feeds[name] = { data: int64(source, name, name === 'attention_mask' ? 1 : 0), dims: [b, s] };
    }
    const reply = this.call(feeds, ['logits', ...wanted.flatMap((o) => this.layerOutputs[o.key])]);
    const outputs = reply.outputs;
    if (!outputs?.logits) throw new DistilleryOnnxError('TEACHER_RUN_FAILED', `ONNX teacher ${this.dir}: ONNX Runtime failed on a [${b}, ${s}] batch (${reply.error ?? 'no logits returned'}).`);
    const tensor = (name: string): tf.Tensor => tf.tensor(outputs[name]!.data, outputs[name]!.dims);
    return { logits: tensor('logits'), ...Object.fromEntries(wanted.map((o) => [o.key, this.layerOutputs[o.key].map(tensor)])) };
  }

  /**
   * Throws OUTPUT_MISSING naming the export flags when `request` asks for layer outputs the graph
   * lacks (the distillation objective calls it before training).
   */
  checkServes(request: OutputRequest): void {
    this.refuseMissing(requested(request, 'key'));
  }

  private refuseMissing(wanted: readonly LayerOutput[]): void {
    const missing = wanted.filter((o) => this.layerOutputs[o.key].length === 0);
    if (missing.length === 0) return;
    const names = missing.map((o) => `${o.prefix}.{i}`).join(', ');
    throw new DistilleryOnnxError('OUTPUT_MISSING', `ONNX teacher ${this.file}: the graph has no ${names} outputs (it returns ${this.outputNames.join(', ')}), which the layer plugins ask for. Re-export the teacher with them: \`distillery export --model <its safetensors folder> --out <folder> ${missing.map((o) => o.flag).join(' ')}\` (exportOnnx options ${missing.map((o) => `${o.option}: true`).join(', ')}); or distil with logit-level plugins (logitKd).`);
  }

  private call(feeds: Record<string, { data: BigInt64Array; dims: number[] }>, fetches: readonly string[]): RunReply {
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({ feeds, fetches });
    if (Atomics.wait(this.signal, 0, 0, this.timeoutMs) === 'timed-out') {
      throw new DistilleryOnnxError('TEACHER_RUN_FAILED', `ONNX teacher ${this.dir}: no answer from ONNX Runtime within ${this.timeoutMs / 1000} s; the worker may have crashed (out of memory?).`);
    }
    const message = receiveMessageOnPort(this.port);
    return (message?.message ?? { error: 'the worker answered without a result' }) as RunReply;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.port.close();
    await this.worker.terminate();
  }
}
