/**
 * The seed's `layer_distillation_step` (a sum over layer pairs) and `TinyBERTDistillation`
 * (its attention pairs given apart from its hidden pairs) through plugin options alone, on
 * the distill_losses fixture's real teacher and student with the fixture's projector as the
 * initial projector weights: no weight multipliers, no assigning into plugin internals.
 * Every setting comes from inputs.json, so DISTILL_PARITY_DIRS folders run unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import {
  AttentionPlugin, DistillationObjective, HiddenStatePlugin, TinyBertPlugin,
  type DistillBatch, type DistillModel, type LossPlugin, type ProjectorInit,
} from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';
import { DISTILL_DIRS, expectClose, loadDistillFixture, loadDistillModels, loadProjector } from './helpers.js';

beforeAll(async () => { await initBackend({ backend: 'cpu', log: false }); });
afterAll(() => tf.disposeVariables());

describe.each(DISTILL_DIRS)('seed code through plugin options: %s', (dir) => {
  const { expected, inputs } = loadDistillFixture(dir);
  const tol = expected.tolerance.losses;
  const hiddenPairs = expected.loss_terms.hidden_mse_per_pair;
  const attentionPairs = expected.loss_terms.attention_mse_per_pair;
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  let teacher: BertForSequenceClassification;
  let student: BertForSequenceClassification;
  let batch: DistillBatch;
  let projector: ProjectorInit;

  beforeAll(async () => {
    ({ teacher, student, batch } = await loadDistillModels(dir, inputs));
    const p = loadProjector(dir);
    projector = { weight: p.weight, bias: p.bias };
  });

  /** The loss and every reported term of one forward through `plugins`. */
  function run(plugins: LossPlugin[]): { total: number; terms: Record<string, number> } {
    const o = new DistillationObjective(plugins, teacher as DistillModel);
    o.setup(student as DistillModel);
    const progress = { step: 0, maxSteps: 1 };
    const t = o.teacherOutputs(batch, progress);
    const terms: Record<string, number> = {};
    const total = tf.tidy(() => {
      const r = o.compute(student as DistillModel, batch, t, progress, { training: false });
      for (const [name, v] of r.terms) terms[name] = v.dataSync()[0]!;
      return r.loss.dataSync()[0]!;
    });
    tf.dispose(t.flatMap((x) => [x.logits, ...(x.hiddenStates ?? []), ...(x.attentions ?? [])]));
    o.dispose();
    return { total, terms };
  }

  it('layer_distillation_step: HiddenStatePlugin reduction "sum" is the sum of the pairs, each reported as loss/hidden/<s>-<t>', () => {
    const { total, terms } = run([new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: inputs.hidden_layer_map }, reduction: 'sum', projector })]);
    expectClose(total, sum(hiddenPairs), tol.atol, tol.rtol, 'Σ hidden pairs');
    inputs.hidden_layer_map.forEach(([s, t], i) => expectClose(terms[`loss/hidden/${s}-${t}`]!, hiddenPairs[i]!, tol.atol, tol.rtol, `loss/hidden/${s}-${t}`));
    // The default reduction is the fixture's mean.
    expectClose(run([new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: inputs.hidden_layer_map }, projector })]).total, expected.losses.hidden_mse, tol.atol, tol.rtol, 'hidden_mse');
  });

  it('attention pairs summed or averaged, each reported as loss/attention/<s>-<t>', () => {
    const layerMap = { kind: 'explicit', map: inputs.attention_layer_map } as const;
    const summed = run([new AttentionPlugin({ layerMap, reduction: 'sum' })]);
    expectClose(summed.total, sum(attentionPairs), tol.atol, tol.rtol, 'Σ attention pairs');
    inputs.attention_layer_map.forEach(([s, t], i) => expectClose(summed.terms[`loss/attention/${s}-${t}`]!, attentionPairs[i]!, tol.atol, tol.rtol, `loss/attention/${s}-${t}`));
    expectClose(run([new AttentionPlugin({ layerMap })]).total, expected.losses.attention_mse, tol.atol, tol.rtol, 'attention_mse');
  });

  it('TinyBERTDistillation: embedding + Σ hidden + Σ attention (its own map) + prediction KD at T', () => {
    const embedding = inputs.hidden_layer_map.findIndex(([s, t]) => s === 0 && t === 0);
    expect(embedding, 'the fixture maps the embeddings (0 ↔ 0)').toBeGreaterThanOrEqual(0);
    const layerPairs = inputs.hidden_layer_map.filter(([s]) => s > 0);
    const { total, terms } = run([new TinyBertPlugin({
      layerMap: { kind: 'explicit', map: layerPairs },
      attentionLayerMap: { kind: 'explicit', map: inputs.attention_layer_map },
      temperature: inputs.temperature,
      embeddingProjector: projector,
      hiddenProjector: projector,
    })]);
    const hidden = sum(hiddenPairs.filter((_, i) => i !== embedding));
    expectClose(terms['loss/tinybert/embedding']!, hiddenPairs[embedding]!, tol.atol, tol.rtol, 'embedding');
    expectClose(terms['loss/tinybert/hidden']!, hidden, tol.atol, tol.rtol, 'Σ hidden');
    expectClose(terms['loss/tinybert/attention']!, sum(attentionPairs), tol.atol, tol.rtol, 'Σ attention');
    expectClose(terms['loss/tinybert/prediction']!, expected.losses.kd_soft, tol.atol, tol.rtol, 'prediction');
    expectClose(total, hiddenPairs[embedding]! + hidden + sum(attentionPairs) + expected.losses.kd_soft, tol.atol, tol.rtol, 'TinyBERT total');
    layerPairs.forEach(([s, t]) => expect(terms[`loss/tinybert/hidden/${s}-${t}`], `hidden/${s}-${t}`).toBeDefined());
    inputs.attention_layer_map.forEach(([s, t], i) => expectClose(terms[`loss/tinybert/attention/${s}-${t}`]!, attentionPairs[i]!, tol.atol, tol.rtol, `attention/${s}-${t}`));
  });

  it('refuses initial projector weights of the wrong shape, naming the variable', () => {
    const wrong = { weight: tf.zeros([3, 3]) };
    expect(() => run([new HiddenStatePlugin({ projector: wrong })])).toThrow(/initial hidden\.projector\.weight has shape \[3, 3\] but the projection needs \[/);
    wrong.weight.dispose();
  });
});
