/**
 * A small dense text classifier that satisfies TrainableModel, for trainer tests until (and
 * besides) the BERT ports: mean-pooled embeddings → LayerNorm → tanh dense → dropout → classifier.
 * HF-style parameter names so the no-decay rule and checkpoints see realistic keys.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, serializeSafetensors } from '@distillery/models';
import type { ModelInputs, TrainableModel } from '@distillery/trainer';

export interface TinyConfig {
  vocabSize: number;
  hiddenSize: number;
  numLabels: number;
  dropout: number;
}

export interface TinyOutput {
  logits: tf.Tensor2D; // [B, C]
  loss?: tf.Scalar;
}

export class TinyClassifier implements TrainableModel<ModelInputs, TinyOutput> {
  readonly config: TinyConfig;
  private readonly params = new Map<string, tf.Variable>();

  constructor(config: Partial<TinyConfig> = {}, seed = 0) {
    this.config = { vocabSize: 24, hiddenSize: 16, numLabels: 2, dropout: 0, ...config };
    const { vocabSize: V, hiddenSize: H, numLabels: C } = this.config;
    const init = (name: string, shape: number[], kind: 'normal' | 'zeros' | 'ones', s = 0): void => {
      const t = kind === 'normal' ? tf.randomNormal(shape, 0, 0.5, 'float32', seed * 31 + s) : kind === 'ones' ? tf.ones(shape) : tf.zeros(shape);
      this.params.set(name, tf.variable(t, true));
      t.dispose();
    };
    init('embeddings.word_embeddings.weight', [V, H], 'normal', 1);
    init('embeddings.LayerNorm.weight', [H], 'ones');
    init('embeddings.LayerNorm.bias', [H], 'zeros');
    init('dense.weight', [H, H], 'normal', 2);
    init('dense.bias', [H], 'zeros');
    init('classifier.weight', [C, H], 'normal', 3);
    init('classifier.bias', [C], 'zeros');
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  forward(inputs: ModelInputs, options: { training: boolean; seed?: number }): TinyOutput {
    const emb = tf.gather(this.p('embeddings.word_embeddings.weight'), inputs.inputIds); // [B, S, H]
    const mask = tf.expandDims(tf.cast(inputs.attentionMask, 'float32'), 2); // [B, S, 1]
    const pooled = tf.div(tf.sum(tf.mul(emb, mask), 1), tf.sum(mask, 1)); // [B, H]
    const { mean, variance } = tf.moments(pooled, -1, true);
    const normed = tf.add(tf.mul(tf.div(tf.sub(pooled, mean), tf.sqrt(tf.add(variance, 1e-12))), this.p('embeddings.LayerNorm.weight')), this.p('embeddings.LayerNorm.bias'));
    let h = tf.tanh(tf.add(tf.matMul(normed, this.p('dense.weight'), false, true), this.p('dense.bias'))); // [B, H]
    if (options.training && this.config.dropout > 0) h = tf.dropout(h, this.config.dropout, undefined, options.seed);
    const logits = tf.add(tf.matMul(h, this.p('classifier.weight'), false, true), this.p('classifier.bias')) as tf.Tensor2D; // [B, C]
    if (!inputs.labels) return { logits };
    const loss =
      this.config.numLabels === 1
        ? tf.mean(tf.square(tf.sub(tf.squeeze(logits, [1]), inputs.labels)))
        : tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(inputs.labels, 'int32') as tf.Tensor1D, this.config.numLabels), logits);
    return { logits, loss: loss as tf.Scalar };
  }

  namedParameters(): Map<string, tf.Variable> {
    return new Map(this.params);
  }

  savePretrained(dir: string): void {
    mkdirSync(dir, { recursive: true });
    const tensors = new Map([...this.params].map(([k, v]) => [k, { shape: v.shape, data: v.dataSync() as Float32Array }]));
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(tensors));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(this.config));
  }

  loadWeights(dir: string): void {
    const file = readSafetensors(join(dir, 'model.safetensors'));
    for (const [name, v] of this.params) {
      const t = file.tensors.get(name);
      if (!t) throw new Error(`${dir}/model.safetensors lacks ${name}`);
      v.assign(tf.tensor(t.data, t.shape));
    }
  }

  /** Copy of every weight as plain arrays (for bit-exact comparisons). */
  snapshot(): Map<string, Float32Array> {
    return new Map([...this.params].map(([k, v]) => [k, v.dataSync() as Float32Array]));
  }

  dispose(): void {
    tf.dispose([...this.params.values()]);
  }
}
