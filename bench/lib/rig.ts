/**
 * One teacher → student distillation set-up at the bench's shapes, and the three timed phases,
 * written as bench/torch_step.py writes them: teacher forward without gradients, student
 * forward+backward+AdamW on cross-entropy, and the full step (logit KD + projected hidden MSE
 * + head-averaged attention MSE, uniform maps) — no clipping, no dropout, lr 1e-4, decay 0.01.
 */
import * as tf from '@tensorflow/tfjs';
import { BertForSequenceClassification, createConfig, type BertConfig } from '@distillery/models';
import { AttentionPlugin, DistillationObjective, HiddenStatePlugin, LogitKdPlugin, type DistillBatch, type DistillModel } from '@distillery/plugins';
import { AdamW } from '@distillery/trainer';
import { BATCH, SEQ, VOCAB, type Arch } from './spec.js';

const LR = 1e-4;
const PROGRESS = { step: 0, maxSteps: 1 };

export function bertConfig([layers, hidden, heads]: Arch): BertConfig {
  // torch_step.py zeroes the student's dropout; the teacher runs in eval mode anyway.
  return createConfig('bert', {
    vocabSize: VOCAB, numHiddenLayers: layers, hiddenSize: hidden, numAttentionHeads: heads, intermediateSize: 4 * hidden,
    hiddenDropoutProb: 0, attentionProbsDropoutProb: 0, numLabels: 2,
  });
}

/** Random ids in [1, vocab), all-ones mask, 0/1 labels, from a fixed LCG so every run sees the same batch. */
export function randomBatch(batch = BATCH, seq = SEQ): DistillBatch {
  let state = 12345;
  const next = (n: number) => ((state = (state * 1103515245 + 12345) >>> 0) >>> 8) % n;
  return {
    inputIds: tf.tensor2d(Int32Array.from({ length: batch * seq }, () => 1 + next(VOCAB - 1)), [batch, seq], 'int32'),
    attentionMask: tf.ones([batch, seq], 'int32'),
    labels: tf.tensor1d(Int32Array.from({ length: batch }, () => next(2)), 'int32'),
  };
}

/** `tf.variableGrads` keys grads by the engine's variable name; AdamW wants the parameter names. */
function byParamName(params: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap): Map<string, tf.Tensor> {
  return new Map([...params].flatMap(([name, v]) => (grads[v.name] ? [[name, grads[v.name]!] as const] : [])));
}

/** Weights and Adam moments on every parameter, as the torch twin (one group, decay everywhere). */
export class StudentTrainer {
  readonly optimizer = new AdamW({ weightDecay: 0.01, noDecay: () => false });
  /** tf.memory().numBytes inside the last step, after the backward pass. */
  peakBytes = 0;

  constructor(private readonly params: ReadonlyMap<string, tf.Variable>) {}

  /**
   * One forward+backward+AdamW update of `loss`; resolves to the loss value once the step has run.
   * `await data()`, not dataSync(): a GPU backend cannot read synchronously in Node.
   */
  async step(loss: () => tf.Scalar): Promise<number> {
    const value = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(loss, [...this.params.values()]);
      this.peakBytes = tf.memory().numBytes;
      this.optimizer.step(this.params, byParamName(this.params, grads), LR);
      return value;
    });
    try {
      return (await value.data())[0]!; // also waits for the step on any backend
    } finally {
      value.dispose();
    }
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

export class DistillRig {
  readonly teacher: BertForSequenceClassification;
  readonly student: BertForSequenceClassification;
  readonly objective: DistillationObjective;
  readonly batch: DistillBatch;
  private readonly trainer: StudentTrainer;
  private readonly studentOnly: StudentTrainer;

  constructor(teacher: Arch, student: Arch, seq = SEQ) {
    this.batch = randomBatch(BATCH, seq);
    this.teacher = new BertForSequenceClassification(bertConfig(teacher), 1);
    this.student = new BertForSequenceClassification(bertConfig(student), 2);
    this.objective = new DistillationObjective([new LogitKdPlugin({ temperature: 4, alpha: 0.5 }), new HiddenStatePlugin(), new AttentionPlugin()], this.teacher as DistillModel);
    this.objective.setup(this.student as DistillModel);
    const studentParams = this.student.namedParameters();
    this.studentOnly = new StudentTrainer(studentParams);
    this.trainer = new StudentTrainer(new Map([...studentParams, ...this.objective.variables()]));
  }

  /** Teacher forward with hidden states and attentions, outside any tape (the objective's own path). */
  async teacherForward(): Promise<void> {
    const outs = this.objective.teacherOutputs(this.batch, PROGRESS);
    await outs[0]!.logits.data();
    tf.dispose(outs as unknown as tf.TensorContainer);
  }

  studentStep(): Promise<number> {
    return this.studentOnly.step(() => this.student.forward(this.batch, { training: true }).loss!);
  }

  async distillStep(): Promise<number> {
    const teachers = this.objective.teacherOutputs(this.batch, PROGRESS);
    try {
      return await this.trainer.step(() => this.objective.compute(this.student as DistillModel, this.batch, teachers, PROGRESS, { training: true }).loss);
    } finally {
      tf.dispose(teachers as unknown as tf.TensorContainer);
    }
  }

  get distillPeakBytes(): number {
    return this.trainer.peakBytes;
  }

  dispose(): void {
    this.objective.dispose();
    this.trainer.dispose();
    this.studentOnly.dispose();
    this.teacher.dispose();
    this.student.dispose();
    tf.dispose(this.batch as unknown as tf.TensorContainer);
  }
}
