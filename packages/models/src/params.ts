/**
 * Parameter registry keyed by HF state-dict names. Modules register their weights through a
 * `ParamScope` (a name prefix), which also does HF's `_init_weights`: Linear/Embedding
 * N(0, initializer_range), zero bias, LayerNorm 1/0, padding row zero. Each tensor's init is
 * seeded by (seed, name), so it does not depend on registration order.
 */
import * as tf from '@tensorflow/tfjs';
import type { Embedding, LayerNorm, Linear } from './layers.js';

/** FNV-1a of "seed:name": a stable 31-bit seed per parameter. */
function paramSeed(seed: number, name: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}:${name}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 1) || 1;
}

export class ParameterStore {
  readonly params = new Map<string, tf.Variable>();
  /** Embedding/encoder weights: missing from a checkpoint is an error, unlike a fresh task head. */
  readonly core = new Set<string>();
  /** Checkpoint keys that are tied duplicates of a parameter here, e.g. `cls.predictions.decoder.weight`. */
  readonly aliases = new Map<string, string>();

  constructor(
    readonly seed: number,
    /** `initializer_range`. */
    readonly std: number,
  ) {}

  scope(prefix: string, core = false): ParamScope {
    return new ParamScope(this, prefix, core);
  }

  register(name: string, value: tf.Tensor, core: boolean): tf.Variable {
    if (this.params.has(name)) throw new Error(`parameter "${name}" registered twice`);
    const v = tf.variable(value, true);
    value.dispose();
    this.params.set(name, v);
    if (core) this.core.add(name);
    return v;
  }

  normal(name: string, shape: number[]): tf.Tensor {
    return tf.randomNormal(shape, 0, this.std, 'float32', paramSeed(this.seed, name));
  }
}

export class ParamScope {
  constructor(
    private readonly store: ParameterStore,
    readonly prefix: string,
    private readonly core: boolean,
  ) {}

  name(local: string): string {
    return this.prefix === '' ? local : local === '' ? this.prefix : `${this.prefix}.${local}`;
  }

  child(local: string): ParamScope {
    return new ParamScope(this.store, this.name(local), this.core);
  }

  linear(local: string, inFeatures: number, outFeatures: number, bias = true): Linear {
    const n = this.name(local);
    const weight = this.store.register(`${n}.weight`, this.store.normal(`${n}.weight`, [outFeatures, inFeatures]), this.core);
    return bias ? { weight, bias: this.zeros(`${local}.bias`, outFeatures) } : { weight };
  }

  layerNorm(local: string, dim: number, eps: number): LayerNorm {
    const n = this.name(local);
    return {
      weight: this.store.register(`${n}.weight`, tf.ones([dim]), this.core),
      bias: this.store.register(`${n}.bias`, tf.zeros([dim]), this.core),
      eps,
    };
  }

  embedding(local: string, count: number, dim: number, paddingIdx: number | null = null, init?: tf.Tensor2D): Embedding {
    const n = `${this.name(local)}.weight`;
    const value = init ?? tf.tidy(() => {
      const w = this.store.normal(n, [count, dim]);
      // HF zeroes the padding row at init.
      return paddingIdx === null ? w : tf.mul(w, tf.expandDims(tf.sub(1, tf.oneHot(paddingIdx, count)), 1));
    });
    return { weight: this.store.register(n, value, this.core), paddingIdx };
  }

  zeros(local: string, size: number): tf.Variable {
    return this.store.register(this.name(local), tf.zeros([size]), this.core);
  }

  /** Declare a checkpoint key that is a tied copy of `target` (loaded into it only when target is absent). */
  alias(local: string, target: tf.Variable): void {
    const targetName = [...this.store.params].find(([, v]) => v === target)?.[0];
    if (targetName === undefined) throw new Error(`alias "${this.name(local)}" targets an unregistered variable`);
    this.store.aliases.set(this.name(local), targetName);
  }
}
