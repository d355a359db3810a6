/**
 * Model sizes and training settings of the demo, default and --quick. Sized for a 2-core CPU:
 * the teacher is a 4-layer BERT, the student a 2-layer one at half the width (about 1/8 of the
 * encoder), both on the real 30522-token bert-base-uncased vocabulary. One teacher epoch already
 * passes 0.96 validation accuracy; more buys little and costs minutes.
 */
import { createConfig } from '@distillery/models';
import type { BertConfig } from '@distillery/models';

export interface RunSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Log the training loss (and distillation terms) every this many steps. */
  loggingSteps: number;
  /** Evaluate on the validation split every this many steps. */
  evalSteps: number;
}

export interface DemoPreset {
  name: 'default' | 'quick';
  /** Tokens per text, [CLS] and [SEP] included: subject and first lines decide spam. */
  maxLength: number;
  /** Validation examples used for the curves (evaluating all costs more than it shows). */
  evalExamples: number;
  teacher: BertConfig;
  student: BertConfig;
  teacherRun: RunSettings;
  studentRun: RunSettings;
  distillRun: RunSettings;
  /**
   * Logit KD temperature and soft/hard mix; hidden and attention term weights (TinyBERT-style:
   * attention on pre-softmax scores, whose MSE is ~0.1 here, where probabilities give ~1e-4 and no signal).
   */
  kd: { temperature: number; alpha: number; hiddenWeight: number; attentionWeight: number };
}

const LABELS = { id2label: { 0: 'ham', 1: 'spam' }, label2id: { ham: 0, spam: 1 }, numLabels: 2 };

function bert(layers: number, hidden: number, heads: number, maxLength: number): BertConfig {
  return createConfig('bert', {
    ...LABELS,
    vocabSize: 30522,
    numHiddenLayers: layers,
    hiddenSize: hidden,
    numAttentionHeads: heads,
    intermediateSize: 4 * hidden,
    maxPositionEmbeddings: maxLength,
    architectures: ['BertForSequenceClassification'],
  });
}

export function demoPreset(quick: boolean): DemoPreset {
  if (quick) {
    const maxLength = 32;
    return {
      name: 'quick',
      maxLength,
      evalExamples: 256,
      teacher: bert(3, 64, 2, maxLength),
      student: bert(1, 32, 2, maxLength),
      teacherRun: { epochs: 1, batchSize: 32, learningRate: 1e-3, loggingSteps: 10, evalSteps: 30 },
      studentRun: { epochs: 12, batchSize: 16, learningRate: 1e-3, loggingSteps: 10, evalSteps: 30 },
      distillRun: { epochs: 1, batchSize: 32, learningRate: 1e-3, loggingSteps: 10, evalSteps: 30 },
      kd: { temperature: 2, alpha: 0.5, hiddenWeight: 1, attentionWeight: 1 },
    };
  }
  const maxLength = 48;
  return {
    name: 'default',
    maxLength,
    evalExamples: 587,
    teacher: bert(4, 96, 4, maxLength),
    student: bert(2, 48, 2, maxLength),
    teacherRun: { epochs: 1, batchSize: 32, learningRate: 1e-3, loggingSteps: 10, evalSteps: 50 },
    studentRun: { epochs: 8, batchSize: 16, learningRate: 1e-3, loggingSteps: 10, evalSteps: 60 },
    distillRun: { epochs: 2, batchSize: 32, learningRate: 1e-3, loggingSteps: 10, evalSteps: 60 },
    kd: { temperature: 2, alpha: 0.5, hiddenWeight: 1, attentionWeight: 1 },
  };
}
