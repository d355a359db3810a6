/**
 * AdamW as torch.optim.AdamW: decoupled weight decay, bias-corrected moments, per-parameter
 * step counts, and parameters without a gradient left untouched. Written on tf ops because
 * tfjs's Adam has no weight decay. Biases and norm weights are not decayed (HF's rule, by name).
 */
import * as tf from '@tensorflow/tfjs';
import { fusedAdamW } from '@distillery/native';
import { DistilleryTrainerError } from './errors.js';

/** What the trainer needs from an optimizer: one update, and exact save/restore. */
export interface Optimizer {
  /** Update `params` in place from `grads` (same keys) at learning rate `lr`; params without a grad are skipped. */
  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;
  stateDict(): OptimizerState;
  loadStateDict(state: OptimizerState): void;
  /**
   * Throw (CHECKPOINT_INVALID) unless `state` can be loaded for `params`: checked before a resume
   * touches any weight, so a bad checkpoint leaves the model and optimizer as they were.
   */
  checkStateDict?(state: OptimizerState, params: ReadonlyMap<string, tf.Variable>): void;
  dispose(): void;
}

export interface OptimizerState {
  config: Record<string, unknown>;
  tensors: Map<string, tf.Tensor>;
}

// HF's get_decay_parameter_names forbidden patterns, matched on the lower-cased name.
const NO_DECAY = [/bias/, /layernorm/, /rmsnorm/, /(?:^|\.)norm(?:$|\.)/, /_norm(?:$|\.)/];

/** True for parameters HF trains without weight decay: biases and LayerNorm/RMSNorm weights. */
export function isNoDecayParameter(name: string): boolean {
  const lower = name.toLowerCase();
  return NO_DECAY.some((re) => re.test(lower));
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  weightDecay?: number;
  /** Which parameters skip weight decay; default `isNoDecayParameter`. */
  noDecay?: (name: string) => boolean;
}

interface Moments {
  step: number;
  expAvg: tf.Variable; // same shape as the parameter
  expAvgSq: tf.Variable;
}

export class AdamW implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly noDecay: (name: string) => boolean;
  private readonly moments = new Map<string, Moments>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.noDecay = options.noDecay ?? isNoDecayParameter;
    // The same ranges TrainingArguments gives adamBeta1/2, adamEpsilon and weightDecay.
    const bad = (field: string, want: string, v: unknown): never => {
      throw new DistilleryTrainerError('ARGS_INVALID', `AdamW.${field} must be ${want}, got ${JSON.stringify(v)}.`);
    };
    for (const field of ['beta1', 'beta2'] as const) if (!(typeof this[field] === 'number' && this[field] >= 0 && this[field] < 1)) bad(field, 'a number in [0, 1)', this[field]);
    if (!(Number.isFinite(this.epsilon) && this.epsilon > 0)) bad('epsilon', 'a number > 0', this.epsilon);
    if (!(Number.isFinite(this.weightDecay) && this.weightDecay >= 0)) bad('weightDecay', 'a finite number >= 0', this.weightDecay);
  }

  step(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new DistilleryTrainerError('MODEL_INVALID', `AdamW.step: gradient for "${name}" has no parameter; pass the same names in params and grads.`);
      const s = this.momentsFor(name, p);
      s.step += 1;
      const bc1 = 1 - this.beta1 ** s.step;
      const bc2 = 1 - this.beta2 ** s.step;
      const decay = this.noDecay(name) ? 0 : this.weightDecay;
      tf.tidy(() => {
        // The native backend does the whole update in one pass (same float32 arithmetic as below).
        const fused = fusedAdamW(p, g, s.expAvg, s.expAvgSq, { lr, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: decay, step: s.step });
        if (fused) {
          p.assign(fused[0]);
          s.expAvg.assign(fused[1]);
          s.expAvgSq.assign(fused[2]);
          return;
        }
        // Decoupled decay acts on the weights before the Adam update (torch order).
        const decayed = decay > 0 ? p.mul(1 - lr * decay) : p;
        const m = s.expAvg.mul(this.beta1).add(g.mul(1 - this.beta1));
        const v = s.expAvgSq.mul(this.beta2).add(g.square().mul(1 - this.beta2));
        const denom = v.sqrt().div(Math.sqrt(bc2)).add(this.epsilon);
        s.expAvg.assign(m);
        s.expAvgSq.assign(v);
        p.assign(decayed.sub(m.div(denom).mul(lr / bc1)));
      });
    }
  }

  private momentsFor(name: string, p: tf.Variable): Moments {
    let s = this.moments.get(name);
    if (!s) {
      s = { step: 0, expAvg: tf.variable(tf.zerosLike(p), false), expAvgSq: tf.variable(tf.zerosLike(p), false) };
      this.moments.set(name, s);
    }
    return s;
  }

  stateDict(): OptimizerState {
    const tensors = new Map<string, tf.Tensor>();
    const steps: Record<string, number> = {};
    for (const [name, s] of this.moments) {
      steps[name] = s.step;
      tensors.set(`exp_avg.${name}`, s.expAvg);
      tensors.set(`exp_avg_sq.${name}`, s.expAvgSq);
    }
    return { config: { type: 'AdamW', beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay, steps }, tensors };
  }

  /**
   * Every moment a float32 tensor of its parameter's shape, finite (exp_avg_sq also >= 0), with an
   * integer step count >= 1, for a parameter the model has: what a resume would otherwise find
   * out inside tfjs, or as NaN weights a few steps later.
   */
  checkStateDict(state: OptimizerState, params: ReadonlyMap<string, tf.Variable>): void {
    const steps = this.steps(state);
    const bad = (name: string, what: string): never => {
      throw new DistilleryTrainerError('CHECKPOINT_INVALID', `optimizer state of "${name}": ${what}; the checkpoint does not fit this model or is corrupt, resume from another one.`);
    };
    for (const [name, step] of Object.entries(steps)) {
      const p = params.get(name) ?? bad(name, 'the model has no trainable parameter of that name');
      if (!Number.isInteger(step) || step < 1) bad(name, `step count ${JSON.stringify(step)} is not an integer >= 1`);
      for (const key of [`exp_avg.${name}`, `exp_avg_sq.${name}`]) {
        const t = state.tensors.get(key) ?? bad(name, `${key} is missing`);
        if (t.dtype !== 'float32') bad(name, `${key} is ${t.dtype}, not float32`);
        if (!tf.util.arraysEqual(t.shape, p.shape)) bad(name, `${key} is shaped [${t.shape.join(', ')}] but the parameter is [${p.shape.join(', ')}]`);
      }
    }
    const moments = new Map([...state.tensors].filter(([key]) => key.startsWith('exp_avg')));
    // The moments were just read from the checkpoint file, so their values are still on the host
    // (no device read, on any backend): check them there.
    const host = (t: tf.Tensor): Float32Array => t.dataSync() as Float32Array;
    const nonFinite = [...moments].filter(([, t]) => !host(t).every(Number.isFinite)).map(([key]) => key);
    if (nonFinite.length > 0) bad(nonFinite[0]!.replace(/^exp_avg(_sq)?\./, ''), `${nonFinite.length} moment tensor(s) hold NaN or Inf (first: ${nonFinite[0]})`);
    const negative = [...moments].find(([key, t]) => key.startsWith('exp_avg_sq.') && host(t).some((v) => v < 0));
    if (negative) bad(negative[0].slice('exp_avg_sq.'.length), `${negative[0]} has negative entries (a second moment is a mean of squares)`);
  }

  private steps(state: OptimizerState): Record<string, number> {
    const steps = state.config.steps as Record<string, number> | undefined;
    if (state.config.type !== 'AdamW' || typeof steps !== 'object' || steps === null) {
      throw new DistilleryTrainerError('CHECKPOINT_INVALID', `optimizer state is not an AdamW state (type=${String(state.config.type)}); resume with the optimizer that wrote it.`);
    }
    return steps;
  }

  loadStateDict(state: OptimizerState): void {
    const steps = this.steps(state);
    this.disposeMoments();
    for (const [name, step] of Object.entries(steps)) {
      const m = state.tensors.get(`exp_avg.${name}`);
      const v = state.tensors.get(`exp_avg_sq.${name}`);
      if (!m || !v) throw new DistilleryTrainerError('CHECKPOINT_INVALID', `optimizer state lacks the moments of "${name}"; the checkpoint is incomplete, resume from an earlier one.`);
      this.moments.set(name, { step, expAvg: tf.variable(m, false), expAvgSq: tf.variable(v, false) });
    }
  }

  private disposeMoments(): void {
    for (const s of this.moments.values()) tf.dispose([s.expAvg, s.expAvgSq]);
    this.moments.clear();
  }

  dispose(): void {
    this.disposeMoments();
  }
}
