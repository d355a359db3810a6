/**
 * The pure loss functions against distill_losses/expected.json: the fixture's float64 teacher
 * and student outputs go straight in, so this checks the losses apart from the models.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionMseLoss, hiddenMseLoss, logitKdLoss, softTargetKlLoss, crossEntropyLoss, type LinearProjection } from '@distillery/plugins';
import { initBackend } from '@distillery/trainer';
import { expectClose, loadDistillFixture, loadProjector } from './helpers.js';

const { expected, inputs } = loadDistillFixture();
const tol = expected.tolerance.losses;

describe('distill_losses fixture, losses on given outputs', () => {
  let projector: LinearProjection;
  let sHidden: tf.Tensor3D[];
  let tHidden: tf.Tensor3D[];
  let sAtt: tf.Tensor4D[];
  let tAtt: tf.Tensor4D[];
  let sLogits: tf.Tensor2D;
  let tLogits: tf.Tensor2D;
  let labels: tf.Tensor1D;

  beforeAll(async () => {
    await initBackend({ backend: 'cpu', log: false });
    projector = loadProjector();
    sHidden = expected.student.hidden_states.map((h) => tf.tensor3d(h as number[][][]));
    tHidden = expected.teacher.hidden_states.map((h) => tf.tensor3d(h as number[][][]));
    sAtt = expected.student.attentions.map((a) => tf.tensor4d(a as number[][][][]));
    tAtt = expected.teacher.attentions.map((a) => tf.tensor4d(a as number[][][][]));
    sLogits = tf.tensor2d(expected.student.logits);
    tLogits = tf.tensor2d(expected.teacher.logits);
    labels = tf.tensor1d(inputs.labels, 'int32');
  });
  afterAll(() => tf.disposeVariables());

  const value = (x: tf.Scalar): number => x.dataSync()[0]!;

  it('logit KD: soft KL (batchmean · T²), hard CE, combined', () => {
    tf.tidy(() => {
      const terms = logitKdLoss(sLogits, tLogits, labels, { temperature: inputs.temperature, alpha: inputs.alpha });
      expectClose(value(terms.soft), expected.losses.kd_soft, tol.atol, tol.rtol, 'kd_soft');
      expectClose(value(terms.hard!), expected.losses.ce_hard, tol.atol, tol.rtol, 'ce_hard');
      expectClose(value(terms.total), expected.losses.kd_combined, tol.atol, tol.rtol, 'kd_combined');
      expectClose(value(softTargetKlLoss(sLogits, tLogits, inputs.temperature)), expected.losses.kd_soft, tol.atol, tol.rtol, 'softTargetKlLoss');
      expectClose(value(crossEntropyLoss(sLogits, labels)), expected.losses.ce_hard, tol.atol, tol.rtol, 'crossEntropyLoss');
    });
  });

  it('hidden MSE through the projector, per pair and mean', () => {
    tf.tidy(() => {
      const { total, perPair } = hiddenMseLoss(sHidden, tHidden, inputs.hidden_layer_map, { project: (x) => projector.apply(x) });
      expectClose(perPair.map(value), expected.loss_terms.hidden_mse_per_pair, tol.atol, tol.rtol, 'hidden_mse_per_pair');
      expectClose(value(total), expected.losses.hidden_mse, tol.atol, tol.rtol, 'hidden_mse');
    });
  });

  it('attention MSE with teacher heads averaged to the student count', () => {
    tf.tidy(() => {
      const { total, perPair } = attentionMseLoss(sAtt, tAtt, inputs.attention_layer_map);
      expectClose(perPair.map(value), expected.loss_terms.attention_mse_per_pair, tol.atol, tol.rtol, 'attention_mse_per_pair');
      expectClose(value(total), expected.losses.attention_mse, tol.atol, tol.rtol, 'attention_mse');
    });
  });

  it('total and total_soft_only, and their projector gradients', () => {
    const loss = (soft: boolean) => () => tf.tidy(() => {
      const kd = logitKdLoss(sLogits, tLogits, labels, { temperature: inputs.temperature, alpha: inputs.alpha });
      const hid = hiddenMseLoss(sHidden, tHidden, inputs.hidden_layer_map, { project: (x) => projector.apply(x) }).total;
      const att = attentionMseLoss(sAtt, tAtt, inputs.attention_layer_map).total;
      return tf.addN([soft ? kd.soft : kd.total, hid, att]) as tf.Scalar;
    });
    for (const [key, soft] of [['total', false], ['total_soft_only', true]] as const) {
      const { value: v, grads } = tf.variableGrads(loss(soft), [projector.weight, projector.bias]);
      expectClose(v.dataSync()[0]!, expected.losses[key], tol.atol, tol.rtol, key);
      // Only the projector's gradients are determined by the outputs alone; the student's need the model.
      for (const [name, variable] of projector.namedVariables()) {
        const exp = expected.gradients[key][name]!;
        const g = grads[variable.name]!;
        expect(g.shape).toEqual(exp.shape);
        expectClose(g.dataSync(), exp.values, expected.tolerance.gradients.atol[key][name]!, expected.tolerance.gradients.rtol, `${key} d/d${name}`);
      }
      tf.dispose([v, grads]);
    }
  });

  it('does not leak tensors across repeated evaluations', () => {
    const step = () => tf.tidy(() => tf.addN([
      logitKdLoss(sLogits, tLogits, labels).total,
      hiddenMseLoss(sHidden, tHidden, inputs.hidden_layer_map, { project: (x) => projector.apply(x) }).total,
      attentionMseLoss(sAtt, tAtt, inputs.attention_layer_map).total,
    ]).dataSync());
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
  });
});
