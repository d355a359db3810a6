/**
 * One forward (+ optional backward) pass written in the parity fixtures' `expected.json` shape:
 * logits, loss, hidden_states, attentions and named gradients. It is how a port is debugged
 * and how parity is checked from outside (`distillery forward`).
 */
import * as tf from '@tensorflow/tfjs';
import type { AnyModel } from './auto.js';
import { DistilleryModelsError } from './errors.js';
import { EncoderBackbone } from './backbone.js';
import { prepareInputs, type ModelOutput, type QuestionAnsweringInputs } from './inputs.js';
import { ModelForSequenceClassification } from './tasks.js';

/** `inputs.json` as in the fixtures (snake_case, nested lists). */
export interface InputsJson {
  input_ids: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
  labels?: number[] | number[][];
  start_positions?: number[];
  end_positions?: number[];
}

export interface GradientReport {
  shape: number[];
  values: unknown;
}

export interface ForwardReport {
  logits: unknown;
  loss?: number;
  hidden_states: unknown[];
  attentions: unknown[];
  gradients: Record<string, GradientReport>;
  start_logits?: unknown;
  end_logits?: unknown;
  /** As the fixtures' `extras`: pooled output, pre-projection embedding output, position ids. */
  extras: { pooled_output?: unknown; embedding_output?: unknown; position_ids?: number[][] };
}

function field(json: Record<string, unknown>, key: string, rank: number): tf.TensorLike | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  const ok = (x: unknown, depth: number): boolean => (depth === 0 ? typeof x === 'number' && Number.isFinite(x) : Array.isArray(x) && x.every((y) => ok(y, depth - 1)));
  if (!ok(v, rank)) throw new DistilleryModelsError('INPUT_INVALID', `inputs.json: "${key}" must be a ${rank}-D list of numbers.`);
  return v as tf.TensorLike;
}

/** Tensors for `model` from inputs JSON; label dtype follows the model's task and problem type. */
export function inputsFromJson(model: AnyModel, json: InputsJson): QuestionAnsweringInputs {
  const raw = json as unknown as Record<string, unknown>;
  const ids = field(raw, 'input_ids', 2);
  if (ids === undefined) throw new DistilleryModelsError('INPUT_INVALID', 'inputs.json: "input_ids" is required ([batch][seqLen] token ids).');
  const int2d = (key: string): tf.Tensor2D | undefined => {
    const v = field(raw, key, 2);
    return v === undefined ? undefined : tf.tensor2d(v as number[][], undefined, 'int32');
  };
  const int1d = (key: string): tf.Tensor1D | undefined => {
    const v = field(raw, key, 1);
    return v === undefined ? undefined : tf.tensor1d(v as number[], 'int32');
  };
  const c = model.config;
  // Regression and multi-label targets are floats; class ids and token labels are ints.
  const floatLabels = model instanceof ModelForSequenceClassification && (c.problemType === 'regression' || c.problemType === 'multi_label_classification' || (c.problemType === undefined && c.numLabels === 1));
  const labelRank = Array.isArray(json.labels?.[0]) ? 2 : 1;
  const labels = field(raw, 'labels', labelRank);
  const inputs: QuestionAnsweringInputs = { inputIds: tf.tensor2d(ids as number[][], undefined, 'int32') };
  const mask = int2d('attention_mask');
  const types = int2d('token_type_ids');
  const start = int1d('start_positions');
  const end = int1d('end_positions');
  if (mask) inputs.attentionMask = mask;
  if (types) inputs.tokenTypeIds = types;
  if (labels !== undefined) inputs.labels = tf.tensor(labels, undefined, floatLabels ? 'float32' : 'int32');
  if (start) inputs.startPositions = start;
  if (end) inputs.endPositions = end;
  return inputs;
}

/** The report's tensors, kept out of `tf.tidy` so they can be read asynchronously afterwards. */
interface PendingReport {
  logits: tf.Tensor;
  loss?: tf.Tensor;
  hiddenStates: tf.Tensor[];
  attentions: tf.Tensor[];
  startLogits?: tf.Tensor;
  endLogits?: tf.Tensor;
  pooledOutput?: tf.Tensor;
  embeddingOutput?: tf.Tensor;
  positionIds?: number[][];
  gradients: Array<[string, tf.Tensor]>;
}

/**
 * Run `model` (eval mode) on `inputsJson` with hidden states and attentions, and the gradient
 * of the loss for each parameter named in `grads` (HF state-dict names). Leaves no tensors behind.
 * Reads results with `await array()`: GPU backends cannot read synchronously in Node, and stall in a browser.
 */
export async function forwardReport(model: AnyModel, inputsJson: InputsJson, options: { grads?: string[] } = {}): Promise<ForwardReport> {
  const params = model.namedParameters();
  const wanted = options.grads ?? [];
  for (const name of wanted) {
    if (!params.has(name)) throw new DistilleryModelsError('UNKNOWN_PARAMETER', `--grads: "${name}" is not a parameter of ${model.constructor.name}; use an HF state-dict name such as ${[...params.keys()].slice(0, 3).join(', ')}.`);
  }
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor | undefined>(t: T): T => {
    if (t) kept.push(tf.keep(t));
    return t;
  };
  let pending: PendingReport | undefined;
  try {
    tf.tidy(() => {
      const inputs = inputsFromJson(model, inputsJson);
      const run = (): tf.Scalar | undefined => {
        const out = model.forward(inputs, { outputHiddenStates: true, outputAttentions: true }) as ModelOutput & Partial<Record<'startLogits' | 'endLogits' | 'pooledOutput' | 'lastHiddenState', tf.Tensor>>;
        const extras = backboneExtras(model, inputs);
        pending = {
          // The bare model has no logits; its last hidden state stands in.
          logits: keep(out.logits ?? out.lastHiddenState!),
          loss: keep(out.loss),
          hiddenStates: (out.hiddenStates ?? []).map(keep),
          attentions: (out.attentions ?? []).map(keep),
          startLogits: keep(out.startLogits),
          endLogits: keep(out.endLogits),
          pooledOutput: keep(out.pooledOutput),
          embeddingOutput: keep(extras.embeddingOutput),
          ...(extras.positionIds ? { positionIds: extras.positionIds } : {}),
          gradients: [],
        };
        return out.loss;
      };
      if (wanted.length === 0) {
        run();
        return;
      }
      const { grads } = tf.variableGrads(() => {
        const loss = run();
        if (!loss) throw new DistilleryModelsError('LABELS_INVALID', 'inputs.json: gradients need a loss; add "labels" (or start/end positions for QA).');
        return loss;
      }, wanted.map((n) => params.get(n)!));
      pending!.gradients = wanted.map((name) => [name, keep(grads[params.get(name)!.name]!)]);
    });
    const p = pending!;
    const read = async (t: tf.Tensor | undefined): Promise<unknown> => (t ? t.array() : undefined);
    const optional = async <K extends string>(key: K, t: tf.Tensor | undefined): Promise<Partial<Record<K, unknown>>> => (t ? ({ [key]: await t.array() } as Record<K, unknown>) : {});
    const gradients: Record<string, GradientReport> = {};
    for (const [name, g] of p.gradients) gradients[name] = { shape: g.shape, values: await g.array() };
    return {
      logits: await read(p.logits),
      ...((await optional('loss', p.loss)) as { loss?: number }),
      hidden_states: await Promise.all(p.hiddenStates.map(read)),
      attentions: await Promise.all(p.attentions.map(read)),
      gradients,
      ...(await optional('start_logits', p.startLogits)),
      ...(await optional('end_logits', p.endLogits)),
      extras: {
        ...(await optional('pooled_output', p.pooledOutput)),
        ...(p.positionIds ? { position_ids: p.positionIds } : {}),
        ...(await optional('embedding_output', p.embeddingOutput)),
      },
    };
  } finally {
    tf.dispose(kept);
  }
}

/** Position ids and (where a projection follows) the embedding output, as the fixtures' extras. */
function backboneExtras(model: AnyModel, inputs: QuestionAnsweringInputs): { positionIds?: number[][]; embeddingOutput?: tf.Tensor } {
  if (!(model.backbone instanceof EncoderBackbone)) return {};
  const c = model.config;
  const prepared = prepareInputs(inputs, c.vocabSize, 'typeVocabSize' in c ? c.typeVocabSize : 0);
  const { positionIds, embeddingOutput } = model.backbone.debugExtras(prepared);
  const rows = Array.from({ length: prepared.batch }, (_, r) => [...positionIds.subarray(r * prepared.seqLen, (r + 1) * prepared.seqLen)]);
  return { positionIds: rows, ...(embeddingOutput ? { embeddingOutput } : {}) };
}
