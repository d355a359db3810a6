/**
 * MiniLM: last-layer attention transfer + value relation. The value vectors are not a model
 * output, so they are rebuilt from the last layer's input hidden state and its value projection.
 */
import * as tf from '@tensorflow/tfjs';
import { DistilleryPluginsError } from '../errors.js';
import { miniLmLoss } from '../losses/relation.js';
import type { LossContext, LossPlugin, OutputRequest, ParameterSource, SetupContext } from '../plugin.js';
import type { Schedule } from '../schedule.js';
import { need, ready, pluginIdentity } from './require.js';

/** HF names of layer `i`'s value projection, per family (ALBERT: the group serving layer i). */
function valueParamSuffixes(layer: number, numLayers: number, config: unknown): string[] {
  const groups = (config as { numHiddenGroups?: number } | undefined)?.numHiddenGroups ?? 1;
  const group = Math.floor(layer / (numLayers / groups));
  return [
    `encoder.layer.${layer}.attention.self.value`, // BERT, RoBERTa, ELECTRA
    `transformer.layer.${layer}.attention.v_lin`, // DistilBERT
    `encoder.albert_layer_groups.${group}.albert_layers.0.attention.value`, // ALBERT
  ];
}

/** `hidden @ W_vᵀ + b_v` for layer `layer`: `[B, S, H]`. */
export function layerValues(model: ParameterSource, layer: number, numLayers: number, layerInput: tf.Tensor3D, who: string): tf.Tensor3D {
  const params = model.namedParameters();
  if (params.size === 0) {
    throw new DistilleryPluginsError('OUTPUT_MISSING', `MiniLM: the ${who} exposes no weights (an ONNX teacher or a teacher cache), and MiniLM rebuilds the value vectors from its value projections; distil with the ${who}'s safetensors folder, or compare layers with the attention and hiddenState plugins (an ONNX teacher exported with --hidden-states --attentions serves them).`);
  }
  for (const suffix of valueParamSuffixes(layer, numLayers, model.config)) {
    const name = [...params.keys()].find((k) => k.endsWith(`${suffix}.weight`));
    if (name === undefined) continue;
    const w = params.get(name)!; // [H, H]
    const b = params.get(name.replace(/weight$/, 'bias'));
    return tf.tidy(() => {
      const [batch, seq, h] = layerInput.shape;
      const v = tf.matMul(tf.reshape(layerInput, [-1, h]), w, false, true); // [B·S, H]
      return tf.reshape(b ? tf.add(v, b) : v, [batch, seq, -1]) as tf.Tensor3D;
    });
  }
  throw new DistilleryPluginsError('OUTPUT_MISSING', `MiniLM: found no value projection for layer ${layer} of the ${who} (looked for *.${valueParamSuffixes(layer, numLayers, model.config).join('.weight, *.')}.weight); MiniLM supports BERT, RoBERTa, ELECTRA, ALBERT and DistilBERT.`);
}

export interface MiniLmPluginOptions {
  name?: string;
  weight?: Schedule;
}

export class MiniLmPlugin implements LossPlugin {
  readonly name: string;
  readonly weight: Schedule;
  private shapes?: SetupContext;

  constructor(options: MiniLmPluginOptions = {}) {
    ({ name: this.name, weight: this.weight } = pluginIdentity('MiniLmPlugin', options, 'minilm'));
  }

  requires(): OutputRequest {
    return { hiddenStates: true, attentions: true };
  }

  setup(ctx: SetupContext): void {
    if (ctx.student.numHeads !== ctx.teacher.numHeads) {
      throw new DistilleryPluginsError('PLUGIN_CONFIG_INVALID', `MiniLM compares attention distributions head by head: the student has ${ctx.student.numHeads} heads, the teacher ${ctx.teacher.numHeads}; use a student with as many heads or AttentionPlugin (which averages heads).`);
    }
    this.shapes = ctx;
  }

  compute(ctx: LossContext): tf.Scalar {
    const { student: s, teacher: t } = ready(this.shapes, this.name);
    const sHidden = need(ctx.student, 'hiddenStates', 'student', this.name);
    const tHidden = need(ctx.teacher, 'hiddenStates', 'teacher', this.name);
    const terms = miniLmLoss(
      { attention: need(ctx.student, 'attentions', 'student', this.name)[s.numLayers - 1]!, values: layerValues(ctx.studentModel, s.numLayers - 1, s.numLayers, sHidden[s.numLayers - 1]!, 'student') },
      { attention: need(ctx.teacher, 'attentions', 'teacher', this.name)[t.numLayers - 1]!, values: layerValues(ctx.teacherModels[0]!, t.numLayers - 1, t.numLayers, tHidden[t.numLayers - 1]!, 'teacher') },
      s.numHeads,
      ctx.attentionMask,
    );
    ctx.report('attention', terms.attention);
    ctx.report('valueRelation', terms.valueRelation);
    return terms.total;
  }
}
