/**
 * The TF.js forward of every family and head, rebuilt as an ONNX graph from the model's own
 * weight objects (`EncoderBackbone.parts`, head layouts), so the graph cannot drift from the
 * port: whatever config option built the TF.js model (RoBERTa padding positions, ALBERT shared
 * groups and embedding mapping, ELECTRA embeddings_project, activations) is in the structure.
 * Names follow transformers.js / optimum: inputs `input_ids`, `attention_mask`, `token_type_ids`;
 * outputs `logits`, `start_logits`/`end_logits`, `last_hidden_state`, `pooler_output`, and on
 * request the per-layer `hidden_states.{i}` / `attentions.{i}` / `attention_scores.{i}`.
 */
import type * as tf from '@tensorflow/tfjs';
import {
  BaseModel, EncoderBackbone, ModelForMaskedLM, ModelForQuestionAnswering, ModelForSequenceClassification, ModelForTokenClassification,
  type Activation, type AnyModel, type LayerNorm, type Linear, type TransformerLayerWeights,
} from '@distillery/models';
import { DistilleryOnnxError } from './errors.js';
import { requested, type LayerOutput, type LayerOutputOptions } from './layer-outputs.js';
import { DType, GraphBuilder } from './proto.js';

/** LayerNormalization is an opset-17 op; ONNX Runtime (node and web) runs it as one kernel. */
export const OPSET = 17;

/** torch.finfo(torch.float32).min: HF's additive mask value, as transformer.ts uses. */
const FLOAT32_MIN = -3.4028234663852886e38;

/** The ONNX graph's I/O names for a model, as transformers.js reads them. */
export interface GraphSignature {
  inputs: string[];
  outputs: string[];
}

/**
 * Host copies of the model's weights, read with `await data()` before the (synchronous) graph
 * build: after training on a GPU backend they live on the device, where a synchronous read throws
 * in Node and stalls a browser's GPU pipeline.
 */
type HostWeights = ReadonlyMap<tf.Tensor, Float32Array>;

async function readWeights(model: AnyModel): Promise<HostWeights> {
  const params = [...model.namedParameters().values()];
  return new Map(await Promise.all(params.map(async (p) => [p, (await p.data()) as Float32Array] as const)));
}

function host(values: HostWeights, t: tf.Tensor): Float32Array {
  const v = values.get(t);
  if (v === undefined) throw new DistilleryOnnxError('UNSUPPORTED_MODEL', `a weight of shape [${t.shape.join(', ')}] is not among the model's namedParameters(), so it cannot be exported; export a @distillery/models class.`);
  return v;
}

/** `[out, in]` (HF Linear) to `[in, out]` (ONNX MatMul's right operand), times `scale`. */
function transposed(src: Float32Array, w: tf.Tensor, scale: number): Float32Array {
  const [rows, cols] = w.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]! * scale;
  return out;
}

/**
 * uint8 weights around a zero point of 128, one scale per output column. uint8 × uint8 keeps
 * ONNX Runtime's x86 kernels off the u8·s8 pair instruction (vpmaddubsw) whose int16 sum
 * saturates for full-range int8 weights, which is why onnxruntime's quantizer offers reduce_range.
 */
const WEIGHT_ZERO_POINT = 128;

export function quantizeColumns(w: Float32Array, rows: number, cols: number): { values: Uint8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let i = 0; i < rows * cols; i++) scales[i % cols] = Math.max(scales[i % cols]!, Math.abs(w[i]!));
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! > 0 ? scales[c]! / 127 : 1;
  const values = new Uint8Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) values[i] = Math.round(w[i]! / scales[i % cols]!) + WEIGHT_ZERO_POINT;
  return { values, scales };
}

interface LinearEntry {
  w: string;
  b?: string;
  /** Set for a quantized weight. */
  zeroPoint?: string;
  scale?: string;
}

class EncoderGraph {
  /** Each weight written once: ALBERT's shared layers and tied tables reuse one initializer. */
  private readonly written = new Map<tf.Tensor, string>();

  constructor(
    readonly g: GraphBuilder,
    private readonly quantize: boolean,
    private readonly values: HostWeights,
  ) {}

  weight(t: tf.Tensor, hint: string): string {
    let name = this.written.get(t);
    if (name === undefined) {
      name = this.g.tensor(hint, DType.FLOAT, t.shape, host(this.values, t));
      this.written.set(t, name);
    }
    return name;
  }

  /** Linears already written, by weight tensor and scale: ALBERT applies one group at several depths. */
  private readonly linears = new Map<tf.Tensor, Map<number, LinearEntry>>();

  /** `x @ Wᵀ + b`; `scale` folds 1/√hd into the query projection as transformer.ts does. */
  linear(x: string, l: Linear, hint: string, scale = 1): string {
    const byScale = this.linears.get(l.weight) ?? new Map<number, LinearEntry>();
    this.linears.set(l.weight, byScale);
    let entry = byScale.get(scale);
    if (!entry) {
      const [outF, inF] = l.weight.shape as [number, number];
      const wt = transposed(host(this.values, l.weight), l.weight, scale); // [in, out]
      const b = l.bias && (scale === 1 ? this.weight(l.bias, `${hint}.bias`) : this.g.float(`${hint}.bias`, host(this.values, l.bias).map((v) => v * scale)));
      if (this.quantize) {
        const q = quantizeColumns(wt, inF, outF);
        entry = {
          w: this.g.tensor(`${hint}.weight_quantized`, DType.UINT8, [inF, outF], q.values),
          zeroPoint: this.g.tensor(`${hint}.weight_zero_point`, DType.UINT8, [outF], new Uint8Array(outF).fill(WEIGHT_ZERO_POINT)),
          scale: this.g.float(`${hint}.weight_scale`, q.scales),
        };
      } else {
        entry = { w: this.g.tensor(`${hint}.weight`, DType.FLOAT, [inF, outF], wt) };
      }
      if (b) entry.b = b;
      byScale.set(scale, entry);
    }
    const y = entry.scale && entry.zeroPoint ? this.matMulInteger(x, entry.w, entry.zeroPoint, entry.scale) : this.g.op('MatMul', [x, entry.w]);
    return entry.b ? this.g.op('Add', [y, entry.b]) : y;
  }

  /** Activations quantized once per value (q, k and v read the same x). */
  private readonly quantizedInputs = new Map<string, [string, string, string]>();

  /**
   * Dynamic int8 as onnxruntime's quantize_dynamic writes it: the activation quantized per call
   * (DynamicQuantizeLinear, uint8), an integer MatMul, then both scales applied to the int32 sum.
   */
  private matMulInteger(x: string, w: string, zeroPoint: string, scale: string): string {
    let qx = this.quantizedInputs.get(x);
    if (!qx) {
      qx = this.g.ops('DynamicQuantizeLinear', [x], {}, 3) as [string, string, string];
      this.quantizedInputs.set(x, qx);
    }
    const [xq, xScale, xZero] = qx;
    const sum = this.g.op('Cast', [this.g.op('MatMulInteger', [xq, w, xZero, zeroPoint])], { to: DType.FLOAT });
    return this.g.op('Mul', [sum, this.g.op('Mul', [xScale, scale])]);
  }

  layerNorm(x: string, ln: LayerNorm, hint: string): string {
    return this.g.op('LayerNormalization', [x, this.weight(ln.weight, `${hint}.weight`), this.weight(ln.bias, `${hint}.bias`)], { axis: -1, epsilon: { float: ln.eps } });
  }

  /** HF `ACT2FN[name]`, term for term as layers.ts `activation`. */
  activation(name: Activation, x: string): string {
    const g = this.g;
    const scalar = (v: number): string => g.float('c', [v], []);
    switch (name) {
      case 'gelu':
      case 'gelu_python': {
        // x · (0.5 · erf(x/√2) + 0.5)
        const cdf = g.op('Add', [g.op('Mul', [g.op('Erf', [g.op('Mul', [x, scalar(Math.SQRT1_2)])]), scalar(0.5)]), scalar(0.5)]);
        return g.op('Mul', [x, cdf]);
      }
      case 'gelu_new':
      case 'gelu_pytorch_tanh':
      case 'gelu_fast': {
        const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, scalar(0.044715)])]), scalar(Math.sqrt(2 / Math.PI))]);
        return g.op('Mul', [g.op('Mul', [x, scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), scalar(1)])]);
      }
      case 'quick_gelu':
        return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, scalar(1.702)])])]);
      case 'relu':
        return g.op('Relu', [x]);
      case 'silu':
      case 'swish':
        return g.op('Mul', [x, g.op('Sigmoid', [x])]);
      case 'tanh':
        return g.op('Tanh', [x]);
    }
  }

  /**
   * One post-LN transformer layer on `x` `[B, S, H]`, as transformer.ts `transformerLayer`: its
   * output, the attention probabilities and the pre-mask scores `[B, h, S, S]`.
   */
  layer(x: string, maskBias: string, w: TransformerLayerWeights, heads: number, act: Activation, hint: string): { hidden: string; attentions: string; attentionScores: string } {
    const g = this.g;
    const hidden = w.query.weight.shape[0]!;
    const hd = hidden / heads;
    const split = g.int64('split_shape', [0, 0, heads, hd]);
    const q = g.op('Transpose', [g.op('Reshape', [this.linear(x, w.query, `${hint}.query`, 1 / Math.sqrt(hd)), split])], { perm: [0, 2, 1, 3] }); // [B, h, S, hd]
    const kT = g.op('Transpose', [g.op('Reshape', [this.linear(x, w.key, `${hint}.key`), split])], { perm: [0, 2, 3, 1] }); // [B, h, hd, S]
    const v = g.op('Transpose', [g.op('Reshape', [this.linear(x, w.value, `${hint}.value`), split])], { perm: [0, 2, 1, 3] }); // [B, h, S, hd]
    const scores = g.op('MatMul', [q, kT]); // [B, h, S, S]
    const probs = g.op('Softmax', [g.op('Add', [scores, maskBias])], { axis: -1 });
    const context = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }); // [B, S, h, hd]
    const merged = g.op('Reshape', [context, g.int64('merge_shape', [0, 0, hidden])]); // [B, S, H]
    const a = this.layerNorm(g.op('Add', [this.linear(merged, w.attentionOutput, `${hint}.attention_output`), x]), w.attentionLayerNorm, `${hint}.attention_ln`);
    const ffn = this.linear(this.activation(act, this.linear(a, w.ffnIn, `${hint}.ffn_in`)), w.ffnOut, `${hint}.ffn_out`);
    return { hidden: this.layerNorm(g.op('Add', [ffn, a]), w.outputLayerNorm, `${hint}.output_ln`), attentions: probs, attentionScores: scores };
  }

  /** `h[:, 0]` `[B, H]`. */
  firstToken(h: string): string {
    return this.g.op('Gather', [h, this.g.int64('zero', [0], [])], { axis: 1 });
  }
}

/**
 * Build the graph of `model` (MatMul weights dynamic-int8 with `quantize`; the layer outputs the
 * options ask for, after the task's); resolves to the serialised ModelProto and its I/O names.
 */
export async function buildGraph(model: AnyModel, options: { quantize?: boolean } & LayerOutputOptions = {}): Promise<{ bytes: Uint8Array; signature: GraphSignature }> {
  const backbone = model.backbone;
  if (!(backbone instanceof EncoderBackbone)) {
    throw new DistilleryOnnxError('UNSUPPORTED_MODEL', `${model.constructor.name}: its backbone is not an EncoderBackbone, so its forward cannot be exported; export a @distillery/models class.`);
  }
  const g = new GraphBuilder();
  const e = new EncoderGraph(g, options.quantize ?? false, await readWeights(model));
  const p = backbone.parts;
  const dims = ['batch_size', 'sequence_length'];
  const ids = g.input('input_ids', DType.INT64, dims);
  const mask = g.input('attention_mask', DType.INT64, dims);
  const types = p.embeddings.tokenType ? g.input('token_type_ids', DType.INT64, dims) : undefined;

  // Embeddings: word + position (+ token type), LayerNorm, optional projection.
  let sum = g.op('Gather', [e.weight(p.embeddings.word.weight, 'word_embeddings'), ids]); // [B, S, E]
  const posTable = e.weight(p.embeddings.position.weight, 'position_embeddings');
  const pad = p.embeddings.position.paddingIdx;
  let positions: string;
  if (pad === null) {
    const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.int64('one', [1], [])], { axis: 0 });
    positions = g.op('Range', [g.int64('start', [0], []), seqLen, g.int64('step', [1], [])]); // [S]
  } else {
    // RoBERTa: cumsum(ids != pad) · (ids != pad) + pad, per row (backbone.ts robertaPositions).
    const real = g.op('Cast', [g.op('Not', [g.op('Equal', [ids, g.int64('pad', [pad], [])])])], { to: DType.INT64 });
    positions = g.op('Add', [g.op('Mul', [g.op('CumSum', [real, g.int64('axis', [1], [])]), real]), g.int64('pad', [pad], [])]); // [B, S]
  }
  sum = g.op('Add', [sum, g.op('Gather', [posTable, positions])]);
  if (p.embeddings.tokenType && types) sum = g.op('Add', [sum, g.op('Gather', [e.weight(p.embeddings.tokenType.weight, 'token_type_embeddings'), types])]);
  let h = e.layerNorm(sum, p.embeddings.layerNorm, 'embeddings.LayerNorm');
  if (p.projection) h = e.linear(h, p.projection, 'embeddings_project');

  // (1 - mask) · finfo32.min as [B, 1, 1, S].
  const maskF = g.op('Cast', [mask], { to: DType.FLOAT });
  const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.float('one', [1], []), maskF]), g.float('min', [FLOAT32_MIN], [])]), g.int64('axes', [1, 2])]);
  // As runEncoder: hidden states after each outer layer, attentions after each inner one (ALBERT groups).
  const layerValues: Record<LayerOutput['key'], string[]> = { hiddenStates: [h], attentions: [], attentionScores: [] };
  p.layers.forEach((group, i) => {
    group.forEach((w, j) => {
      const r = e.layer(h, bias, w, p.spec.numHeads, p.spec.act, `layer.${i}.${j}`);
      h = r.hidden;
      layerValues.attentions.push(r.attentions);
      layerValues.attentionScores.push(r.attentionScores);
    });
    layerValues.hiddenStates.push(h);
  });

  const outputs: string[] = [];
  const out = (name: string, value: string, shape: Array<string | number>): void => {
    g.output(name, value, DType.FLOAT, shape);
    outputs.push(name);
  };
  const pooled = (): string => {
    if (!p.pooler) throw new DistilleryOnnxError('UNSUPPORTED_MODEL', `${model.constructor.name}: the head reads pooler_output but the backbone has no pooler.`);
    return g.op('Tanh', [e.linear(e.firstToken(h), p.pooler, 'pooler')]);
  };
  if (model instanceof ModelForSequenceClassification) {
    const head = model.head.layout;
    const logits = head.kind === 'pooled'
      ? e.linear(pooled(), head.classifier, 'classifier')
      : e.linear(e.activation(head.act, e.linear(e.firstToken(h), head.dense, 'classifier.dense')), head.outProj, 'classifier.out_proj');
    out('logits', logits, ['batch_size', model.config.numLabels]);
  } else if (model instanceof ModelForTokenClassification) {
    out('logits', e.linear(h, model.classifier, 'classifier'), [...dims, model.config.numLabels]);
  } else if (model instanceof ModelForQuestionAnswering) {
    const [start, end] = g.ops('Split', [e.linear(h, model.qaOutputs, 'qa_outputs')], { axis: 2 }, 2) as [string, string];
    const axis = g.int64('axis', [2]);
    out('start_logits', g.op('Squeeze', [start, axis]), dims);
    out('end_logits', g.op('Squeeze', [end, axis]), dims);
  } else if (model instanceof ModelForMaskedLM) {
    const head = model.head.layout;
    const t = e.layerNorm(e.activation(head.act, e.linear(h, head.dense, 'lm_head.dense')), head.layerNorm, 'lm_head.layer_norm');
    // The decoder is the word-embedding table itself (tied): transposed in the graph, stored once.
    const decoderT = g.op('Transpose', [e.weight(head.decoder, 'word_embeddings')], { perm: [1, 0] });
    out('logits', g.op('Add', [g.op('MatMul', [t, decoderT]), e.weight(head.bias, 'lm_head.bias')]), [...dims, model.config.vocabSize]);
  } else if (model instanceof BaseModel) {
    out('last_hidden_state', h, [...dims, backbone.hiddenSize]);
    if (p.pooler) out('pooler_output', pooled(), ['batch_size', backbone.hiddenSize]);
  } else {
    throw new DistilleryOnnxError('UNSUPPORTED_MODEL', `${(model as { constructor: { name: string } }).constructor.name}: not one of the five task classes (base, sequence/token classification, QA, masked LM).`);
  }
  for (const o of requested(options, 'option')) {
    const shape = o.key === 'hiddenStates' ? [...dims, backbone.hiddenSize] : ['batch_size', p.spec.numHeads, 'sequence_length', 'sequence_length'];
    layerValues[o.key].forEach((value, i) => out(`${o.prefix}.${i}`, value, shape));
  }
  return { bytes: g.model(model.constructor.name, OPSET, 'distillery'), signature: { inputs: g.inputs.map((i) => i.name!), outputs } };
}
