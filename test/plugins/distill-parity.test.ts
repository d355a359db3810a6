/**
 * Acceptance: the composed loss (KD + projected hidden MSE + head-averaged attention MSE)
 * computed through the plugins on the real teacher and student models, and its gradients
 * w.r.t. the listed student parameters and the projector, against distill_losses.
 * Every setting (T, α, maps) comes from inputs.json, so a holdout folder runs unchanged:
 * set DISTILL_PARITY_DIRS to extra fixture folders (colon-separated).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertForSequenceClassification } from '@distillery/models';
import { AttentionPlugin, DistillationObjective, HiddenStatePlugin, LogitKdPlugin, type DistillBatch, type DistillModel } from '@distillery/plugins';
import { loadAddon } from '@distillery/native';
import { initBackend } from '@distillery/trainer';
import { useSwiftShader } from '../helpers/swiftshader.js';
import { DISTILL_DIRS, expectClose, loadDistillFixture, loadDistillModels, loadProjector } from './helpers.js';

// native (fused LayerNorm/GELU/softmax-gradient kernels, strided attention products) when its
// addon is built; webgpu on SwiftShader where Chromium's Vulkan ICD is installed (CI installs both).
const BACKENDS = ['cpu', ...(loadAddon().ok ? (['native'] as const) : []), ...(useSwiftShader() ? (['webgpu'] as const) : [])] as const;

afterAll(() => tf.disposeVariables());

describe.each(BACKENDS.flatMap((backend) => DISTILL_DIRS.map((dir) => [backend, dir] as const)))('distillation parity on %s: %s', (backend, dir) => {
  const { expected, inputs } = loadDistillFixture(dir);
  const tol = expected.tolerance.losses;
  let teacher: BertForSequenceClassification;
  let student: BertForSequenceClassification;
  let batch: DistillBatch;

  beforeAll(async () => {
    await initBackend({ backend, log: false });
    ({ teacher, student, batch } = await loadDistillModels(dir, inputs));
  });

  /** The fixture's composition through the plugins, with the fixture's projector weights. */
  function objective(alpha: number): { objective: DistillationObjective; hidden: HiddenStatePlugin } {
    const fixture = loadProjector(dir);
    const hidden = new HiddenStatePlugin({ layerMap: { kind: 'explicit', map: inputs.hidden_layer_map }, projector: { weight: fixture.weight, bias: fixture.bias } });
    const o = new DistillationObjective([
      new LogitKdPlugin({ temperature: inputs.temperature, alpha }),
      hidden,
      new AttentionPlugin({ layerMap: { kind: 'explicit', map: inputs.attention_layer_map } }),
    ], teacher as DistillModel);
    o.setup(student as DistillModel);
    fixture.dispose();
    return { objective: o, hidden };
  }

  for (const [key, soft] of [['total', false], ['total_soft_only', true]] as const) {
    it(`${key}: per-term losses and gradients w.r.t. student params and projector`, async () => {
      const { objective: o, hidden } = objective(soft ? 1 : inputs.alpha);
      const progress = { step: 0, maxSteps: 1 };
      const teacherOut = o.teacherOutputs(batch, progress);
      const params = student.namedParameters();
      const wanted = Object.keys(expected.gradients[key]);
      const vars = wanted.map((name) => (name.startsWith('student.') ? params.get(name.slice('student.'.length)) : hidden.projector!.namedVariables().get(name.replace('projector', 'hidden.projector'))));
      vars.forEach((v, i) => expect(v, `variable for ${wanted[i]}`).toBeDefined());
      // Kept past the tape and read with await data(): a GPU tensor cannot be read synchronously in Node.
      const terms = new Map<string, tf.Scalar>();
      const { value, grads } = tf.variableGrads(() => {
        const r = o.compute(student as DistillModel, batch, teacherOut, progress, { training: false });
        for (const [name, t] of r.terms) terms.set(name, tf.keep(t));
        return r.loss;
      }, vars as tf.Variable[]);
      const termValues: Record<string, number> = {};
      for (const [name, t] of terms) termValues[name] = (await t.data())[0]!;
      expectClose((await value.data())[0]!, expected.losses[key], tol.atol, tol.rtol, key);
      expectClose(termValues['loss/hidden']!, expected.losses.hidden_mse, tol.atol, tol.rtol, 'hidden_mse');
      expectClose(termValues['loss/attention']!, expected.losses.attention_mse, tol.atol, tol.rtol, 'attention_mse');
      expectClose(termValues['loss/kd/soft']!, expected.losses.kd_soft, tol.atol, tol.rtol, 'kd_soft');
      expectClose(termValues['loss/kd/hard']!, expected.losses.ce_hard, tol.atol, tol.rtol, 'ce_hard');
      if (!soft) expectClose(termValues['loss/kd']!, expected.losses.kd_combined, tol.atol, tol.rtol, 'kd_combined');
      for (const [i, name] of wanted.entries()) {
        const g = grads[vars[i]!.name]!;
        expect(g.shape, name).toEqual(expected.gradients[key][name]!.shape);
        expectClose(await g.data(), expected.gradients[key][name]!.values, expected.tolerance.gradients.atol[key][name]!, expected.tolerance.gradients.rtol, `${key} d/d${name}`);
      }
      tf.dispose([value, grads, [...terms.values()], teacherOut.flatMap((t) => [t.logits, ...(t.hiddenStates ?? []), ...(t.attentions ?? [])])]);
      o.dispose();
    });
  }
});
