/**
 * Loads the compiled N-API addon (built by node-gyp at install, or prebuilt in the package).
 * Every function is synchronous and works in place on the TypedArrays it is given.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  /** Threads the addon's own kernels split work over (DISTILLERY_NATIVE_THREADS or all cores). */
  threads(): number;
  /** Tune glibc malloc so freed kernel outputs are reused instead of unmapped (false where not glibc). */
  keepBuffers(): boolean;
  /**
   * out[i] = op(a at aOffsets[i]) · op(b at bOffsets[i]) (+ bias per row), all row-major.
   * out: [batch, m, n]; op(a): [m, k]; op(b): [k, n]; bias: [n] or null.
   */
  gemm(
    a: Float32Array, aOffsets: Float64Array, b: Float32Array, bOffsets: Float64Array, out: Float32Array,
    m: number, n: number, k: number, transA: boolean, transB: boolean, bias: Float32Array | null,
  ): void;
  /**
   * out (at outOffsets[i], row stride ldc) = op(a at aOffsets[i], row stride lda) · op(b at bOffsets[i], ldb),
   * row-major; op(a): [m, k], op(b): [k, n]. Reads and writes sub-matrices (attention heads) in place.
   */
  gemmStrided(
    a: Float32Array, aOffsets: Float64Array, lda: number, b: Float32Array, bOffsets: Float64Array, ldb: number,
    out: Float32Array, outOffsets: Float64Array, ldc: number, m: number, n: number, k: number, transA: boolean, transB: boolean,
  ): void;
  /**
   * out = a ∘ b (op: BINARY_OPS index) over a collapsed output `shape`; aStrides/bStrides give
   * each input's element stride per output dim, 0 where it broadcasts. Innermost stride is 0 or 1.
   */
  binary(op: number, a: Float32Array, b: Float32Array, out: Float32Array, shape: Float64Array, aStrides: Float64Array, bStrides: Float64Array): void;
  /** out = f(x) elementwise (op: UNARY_OPS index). */
  unary(op: number, x: Float32Array, out: Float32Array): void;
  /** x as [outer, r, inner] → out [outer, inner], summed (or averaged) over r in double. */
  reduce(x: Float32Array, out: Float32Array, outer: number, r: number, inner: number, mean: boolean): void;
  /** Softmax over each run of `n` values. */
  softmax(x: Float32Array, out: Float32Array, n: number): void;
  /** out (row-major `outShape`) gathers x with per-output-dim input strides; 4-byte elements as raw bits. */
  transpose(x: Float32Array, out: Float32Array, outShape: Float64Array, inStrides: Float64Array): void;
  /**
   * x as [outer, axis, inner] → out[o, i, :] = x[o, indices[i], :] (4-byte elements as raw bits).
   * Returns -1, or the position of the first index outside [0, axis) without writing anything.
   */
  gather(x: Float32Array, indices: Int32Array, out: Float32Array, outer: number, axis: number, inner: number): number;
  /** out[indices[i], :] += rows[i, :]; duplicates sum, indices outside out's rows are skipped. */
  scatterAdd(rows: Float32Array, indices: Int32Array, out: Float32Array): void;
  /**
   * One AdamW step over equal-length arrays into fresh outputs. scalars (float32):
   * [b1, 1-b1, b2, 1-b2, sqrt(bc2), eps, lr/bc1, 1-lr·decay]; `decay` says whether to apply the last.
   */
  adamw(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
    pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, scalars: Float32Array, decay: boolean,
  ): void;
  /** LayerNorm over rows of gamma.length: y = x̂·γ + β, and the x̂ and per-row rstd its gradient needs. */
  layerNorm(x: Float32Array, gamma: Float32Array, beta: Float32Array, y: Float32Array, xhat: Float32Array, rstd: Float32Array, eps: number): void;
  /** LayerNorm's gradient from the saved x̂ and rstd: dx, and dγ, dβ summed over rows. */
  layerNormGrad(dy: Float32Array, xhat: Float32Array, rstd: Float32Array, gamma: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array): void;
  /** y = x·Φ(x) (erf GELU). */
  gelu(x: Float32Array, y: Float32Array): void;
  /** dx = dy·(Φ(x) + x·φ(x)). */
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  /** Softmax gradient over runs of n from the softmax output y: dx = dy·y − Σ(dy·y)·y. */
  softmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, n: number): void;
}

/** Operation codes; order matches the C enums in src/elementwise.c. */
export const BINARY_OPS = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference'] as const;
export const UNARY_OPS = ['Exp', 'Neg', 'Sqrt', 'Rsqrt', 'Square', 'Erf', 'Tanh', 'Sigmoid', 'Log', 'Reciprocal', 'Abs'] as const;

export type AddonLoad = { ok: true; addon: NativeAddon; path: string } | { ok: false; why: string };

// src/ and dist/ both sit one level under the package root, next to build/ and prebuilds/.
const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);
let cached: AddonLoad | undefined;

/** Why the found addon does not load, with the fix for the one cause users can act on. */
function loadFailure(path: string, e: Error): string {
  const first = e.message.split('\n')[0]!;
  if (/libopenblas/.test(first)) return `addon ${path} needs the OpenBLAS runtime (Debian: apt-get install -y libopenblas0): ${first}`;
  return `addon failed to load: ${first}`;
}

/**
 * Load the addon once: node-gyp-build picks build/Release (built at install) or else the
 * prebuilt one for this platform in prebuilds/. `ok: false` says why (none fits, or it fails to load).
 */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  let path: string;
  try {
    path = (require('node-gyp-build') as { path(dir: string): string }).path(PACKAGE_ROOT);
  } catch {
    cached = { ok: false, why: `addon not built (no build/Release or prebuilds/${process.platform}-${process.arch} addon in ${PACKAGE_ROOT}; needs libopenblas-dev, then \`npm rebuild @distillery/native\`)` };
    return cached;
  }
  const restoreEnv = shortBlasSpin();
  try {
    cached = { ok: true, addon: require(path) as NativeAddon, path };
  } catch (e) {
    cached = { ok: false, why: loadFailure(path, e as Error) };
  } finally {
    restoreEnv();
  }
  return cached;
}

const BLAS_TIMEOUT_VARS = ['OPENBLAS_THREAD_TIMEOUT', 'GOTO_THREAD_TIMEOUT'] as const;

/**
 * After each threaded sgemm, OpenBLAS's workers spin (sched_yield) for 2^28 cycles (~0.1 s)
 * waiting for the next one, so through the softmax, LayerNorm and elementwise kernels between
 * products a spinning worker took a core from our own threads (or, on a loaded machine, from
 * anything). OpenBLAS reads its spin limit from the environment once, when the library loads:
 * set the shortest (2^4 cycles; a worker then sleeps on a condition variable and is signalled
 * for the next product) for that load unless the user chose one, and take it out again so
 * child processes (the bench's PyTorch twin) keep their defaults. Base pair distill step on a
 * shared machine: process CPU 4.3-4.6 → 3.3-3.8 s, involuntary context switches 4-25k → 1.6-6k.
 */
function shortBlasSpin(): () => void {
  if (BLAS_TIMEOUT_VARS.some((name) => process.env[name] !== undefined)) return () => {};
  process.env.OPENBLAS_THREAD_TIMEOUT = '4';
  return () => {
    delete process.env.OPENBLAS_THREAD_TIMEOUT;
  };
}
