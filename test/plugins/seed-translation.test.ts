/**
 * The seed document's Python, translated line by line (torch → tfjs, F.* written out here,
 * independently of the plugins), must give the plugins' numbers on equal-width models:
 * DistillationLoss, layer_distillation_step, attention_distillation_loss and
 * TinyBERTDistillation.compute_loss. Teacher: the fixture's 4-layer BERT (H=48, 4 heads);
 * student: a fresh 2-layer BERT of the same width with 2 heads.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import {
  AttentionPlugin, DistillationObjective, HiddenStatePlugin, LogitKdPlugin, TinyBertPlugin,
  type DistillBatch, type DistillModel, type LossPlugin,
} from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';
import { DISTILL_DIR, loadDistillFixture } from './helpers.js';

// ---- torch.nn.functional, as the seed uses it ----
const F = {
  softmax: (x: tf.Tensor) => tf.softmax(x, -1),
  log_softmax: (x: tf.Tensor) => tf.logSoftmax(x, -1),
  /** kl_div(input = log q, target = p, reduction='batchmean') = Σ p·(log p − input) / batch. */
  kl_div_batchmean: (input: tf.Tensor, target: tf.Tensor) => tf.div(tf.sum(tf.mul(target, tf.sub(tf.log(target), input))), input.shape[0]!),
  /** cross_entropy(logits, labels), mean over the batch. */
  cross_entropy: (logits: tf.Tensor2D, labels: tf.Tensor1D) => {
    const logp = tf.logSoftmax(logits, -1);
    const picked = tf.gather(tf.reshape(logp, [-1]), tf.add(tf.mul(tf.range(0, logits.shape[0], 1, 'int32'), tf.scalar(logits.shape[1], 'int32')), tf.cast(labels, 'int32')));
    return tf.neg(tf.mean(picked));
  },
  mse_loss: (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.squaredDifference(a, b)),
};

type Model = BertForSequenceClassification;
type Inputs = Omit<DistillBatch, 'labels'>;

// class DistillationLoss(nn.Module)
class DistillationLoss {
  constructor(readonly temperature = 4.0, readonly alpha = 0.5) {}

  forward(student_logits: tf.Tensor2D, teacher_logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor {
    // Soft loss (distillation)
    const soft_teacher = F.softmax(tf.div(teacher_logits, this.temperature));
    const soft_student = F.log_softmax(tf.div(student_logits, this.temperature));
    const distillation_loss = tf.mul(F.kl_div_batchmean(soft_student, soft_teacher), this.temperature ** 2);
    // Hard loss (standard cross-entropy)
    const hard_loss = F.cross_entropy(student_logits, labels);
    // Combined loss
    return tf.add(tf.mul(this.alpha, distillation_loss), tf.mul(1 - this.alpha, hard_loss));
  }
}

// def layer_distillation_step(teacher, student, inputs, layer_mapping)
function layer_distillation_step(teacher: Model, student: Model, inputs: Inputs, layer_mapping: Record<number, number>): tf.Tensor {
  const teacher_outputs = teacher.forward(inputs, { outputHiddenStates: true }); // with torch.no_grad()
  const student_outputs = student.forward(inputs, { outputHiddenStates: true });
  let layer_loss: tf.Tensor = tf.scalar(0);
  for (const [student_layer, teacher_layer] of Object.entries(layer_mapping)) {
    layer_loss = tf.add(layer_loss, F.mse_loss(student_outputs.hiddenStates![Number(student_layer)]!, teacher_outputs.hiddenStates![teacher_layer]!));
  }
  return layer_loss;
}

// def attention_distillation_loss(teacher_attentions, student_attentions, mapping)
function attention_distillation_loss(teacher_attentions: tf.Tensor4D[], student_attentions: tf.Tensor4D[], mapping: Record<number, number>): tf.Tensor {
  let loss: tf.Tensor = tf.scalar(0);
  for (const [student_layer, teacher_layer] of Object.entries(mapping)) {
    let teacher_attn: tf.Tensor = teacher_attentions[teacher_layer]!; // [B, H, S, S]
    const student_attn = student_attentions[Number(student_layer)]!;
    // If head counts differ, average teacher heads
    if (teacher_attn.shape[1] !== student_attn.shape[1]) {
      teacher_attn = tf.mean(teacher_attn, 1, true);
      teacher_attn = tf.broadcastTo(teacher_attn, student_attn.shape); // expand_as
    }
    loss = tf.add(loss, F.mse_loss(student_attn, teacher_attn));
  }
  return tf.div(loss, Object.keys(mapping).length);
}

// class TinyBERTDistillation: compute_loss(inputs, labels)
function tinybert_compute_loss(teacher: Model, student: Model, inputs: Inputs): tf.Tensor {
  const teacher_out = teacher.forward(inputs, { outputHiddenStates: true, outputAttentions: true }); // with torch.no_grad()
  const student_out = student.forward(inputs, { outputHiddenStates: true, outputAttentions: true });
  const sh = student_out.hiddenStates!;
  const th = teacher_out.hiddenStates!;
  // 1. Embedding loss
  const emb_loss = F.mse_loss(sh[0]!, th[0]!);
  // 2. Hidden state loss: zip(student hidden_states[1:], teacher hidden_states[1::2])
  const teacherEveryOther = th.filter((_, i) => i >= 1 && (i - 1) % 2 === 0);
  const hidden_loss = tf.addN(sh.slice(1).map((s, i) => F.mse_loss(s, teacherEveryOther[i]!)));
  // 3. Attention loss: zip(student attentions, teacher attentions[::2])
  const teacherAttEveryOther = teacher_out.attentions!.filter((_, i) => i % 2 === 0);
  const attn_loss = tf.addN(student_out.attentions!.map((s, i) => F.mse_loss(s, teacherAttEveryOther[i]!)));
  // 4. Prediction loss
  const pred_loss = tf.mul(F.kl_div_batchmean(F.log_softmax(tf.div(student_out.logits, 4)), F.softmax(tf.div(teacher_out.logits, 4))), 16);
  return tf.addN([emb_loss, hidden_loss, attn_loss, pred_loss]);
}

describe('seed snippets, translated, equal the plugins', () => {
  let teacher: Model;
  let student: Model;
  let inputs: Inputs;
  let labels: tf.Tensor1D;

  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: false });
    teacher = await BertForSequenceClassification.fromPretrained(`${DISTILL_DIR}teacher`, { log: false });
    // Same width (48), half the layers and heads, its own random weights.
    student = new BertForSequenceClassification({ ...teacher.config, numHiddenLayers: 2, numAttentionHeads: 2, initializerRange: 0.1 }, 7);
    const { inputs: fx } = loadDistillFixture();
    inputs = { inputIds: tf.tensor2d(fx.input_ids, undefined, 'int32'), attentionMask: tf.tensor2d(fx.attention_mask, undefined, 'int32'), tokenTypeIds: tf.tensor2d(fx.token_type_ids, undefined, 'int32') };
    labels = tf.tensor1d(fx.labels, 'int32');
  });
  afterAll(() => tf.disposeVariables());

  /** The objective's total through the given plugins. */
  function pluginTotal(plugins: LossPlugin[], student: Model): number {
    const o = new DistillationObjective(plugins, teacher as DistillModel);
    o.setup(student as DistillModel);
    const progress = { step: 0, maxSteps: 1 };
    const batch = { ...inputs, labels };
    const t = o.teacherOutputs(batch, progress);
    const total = tf.tidy(() => o.compute(student as DistillModel, batch, t, progress, { training: false }).loss.dataSync()[0]!);
    tf.dispose(t.flatMap((x) => [x.logits, ...(x.hiddenStates ?? []), ...(x.attentions ?? []), ...(x.attentionScores ?? [])]));
    o.dispose();
    return total;
  }
  const seed = (f: () => tf.Tensor): number => tf.tidy(() => f().dataSync()[0]!);

  it('DistillationLoss(T=4, α=0.5) = LogitKdPlugin defaults', () => {
    const ref = seed(() => new DistillationLoss().forward(student.forward(inputs).logits as tf.Tensor2D, teacher.forward(inputs).logits as tf.Tensor2D, labels));
    expect(ref).toBeGreaterThan(0);
    expect(pluginTotal([new LogitKdPlugin()], student)).toBeCloseTo(ref, 5);
    // α = 0.7 as the seed's training loop uses.
    const ref7 = seed(() => new DistillationLoss(4, 0.7).forward(student.forward(inputs).logits as tf.Tensor2D, teacher.forward(inputs).logits as tf.Tensor2D, labels));
    expect(pluginTotal([new LogitKdPlugin({ alpha: 0.7 })], student)).toBeCloseTo(ref7, 5);
  });

  it('layer_distillation_step = HiddenStatePlugin with reduction "sum"', () => {
    const mapping = { 0: 0, 1: 2, 2: 4 };
    const ref = seed(() => layer_distillation_step(teacher, student, inputs, mapping));
    expect(ref).toBeGreaterThan(0);
    expect(pluginTotal([new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: mapping }, reduction: 'sum' })], student)).toBeCloseTo(ref, 5);
    // The default uniform map is the same mapping here; the default mean is the sum over 3 pairs.
    expect(pluginTotal([new HiddenStatePlugin({ reduction: 'sum' })], student)).toBeCloseTo(ref, 5);
    expect(pluginTotal([new HiddenStatePlugin()], student)).toBeCloseTo(ref / 3, 5);
  });

  it('attention_distillation_loss (teacher heads averaged) = AttentionPlugin', () => {
    const mapping = { 0: 1, 1: 3 };
    const ref = seed(() => attention_distillation_loss(teacher.forward(inputs, { outputAttentions: true }).attentions!, student.forward(inputs, { outputAttentions: true }).attentions!, mapping));
    expect(ref).toBeGreaterThan(0);
    expect(pluginTotal([new AttentionPlugin({ layerMap: { kind: 'explicit', map: mapping } })], student)).toBeCloseTo(ref, 6);
    expect(pluginTotal([new AttentionPlugin()], student)).toBeCloseTo(ref, 6);
  });

  it('TinyBERTDistillation.compute_loss = TinyBertPlugin with the seed\'s every-other-layer map', () => {
    // The seed compares attention maps head for head, so this student keeps the teacher's 4 heads.
    const student4 = new BertForSequenceClassification({ ...teacher.config, numHiddenLayers: 2, initializerRange: 0.1 }, 8);
    const ref = seed(() => tinybert_compute_loss(teacher, student4, inputs));
    expect(ref).toBeGreaterThan(0);
    // hidden_states[1::2] and attentions[::2], each map given as the seed indexes its list.
    expect(pluginTotal([new TinyBertPlugin({ layerMap: { kind: 'explicit', map: { 1: 1, 2: 3 } }, attentionLayerMap: { kind: 'explicit', map: { 0: 0, 1: 2 } } })], student4)).toBeCloseTo(ref, 5);
    student4.dispose();
  });
});
