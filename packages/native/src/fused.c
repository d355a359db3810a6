/* Fused forward and backward kernels for the transformer's memory-bound ops: LayerNorm over the
 * last axis, erf-GELU, and the softmax gradient. Each is one threaded pass (two for the
 * LayerNorm parameter gradients) where the tfjs composition runs 5-12 full-size kernels that
 * each allocate their output. Every float32 operation is the composition's, in its order
 * (statistics and row sums in double, as the Mean/Sum kernels accumulate, though over vmath.h's
 * interleaved lanes), except that GELU's erf and exp are vmath.h's vectorised ones (a few ulp
 * from libm's), so results agree with the unfused ops to rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

#define GRAIN_ELEMS 32768 /* elements per chunk worth handing to another thread */

static size_t row_grain(size_t n) { return 1 + GRAIN_ELEMS / (n ? n : 1); }

/* ---- LayerNorm: y = x̂·γ + β, x̂ = (x − μ)·rstd, rstd = 1/√(var + eps), biased var ---- */

typedef struct {
  const float *x, *gamma, *beta;
  float *y, *xhat, *rstd;
  size_t h;
  float eps;
} ln_ctx;

VECTOR_CLONES static void ln_rows(void *arg, size_t begin, size_t end) {
  ln_ctx *c = (ln_ctx *)arg;
  size_t h = c->h;
  double inv_h = 1.0 / (double)h;
  for (size_t r = begin; r < end; r++) {
    const float *x = c->x + r * h;
    float *xh = c->xhat + r * h, *y = c->y + r * h;
    float mean = (float)(v_sum(x, h) * inv_h);
    for (size_t i = 0; i < h; i++) xh[i] = x[i] - mean;
    float rs = 1.0f / sqrtf((float)(v_dot(xh, xh, h) * inv_h) + c->eps);
    c->rstd[r] = rs;
    for (size_t i = 0; i < h; i++) {
      xh[i] = xh[i] * rs;
      y[i] = xh[i] * c->gamma[i] + c->beta[i];
    }
  }
}

/* layerNorm(x, gamma, beta, y, xhat, rstd, eps): x, y, xhat [rows, h]; gamma, beta [h]; rstd [rows] */
napi_value layer_norm(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv)) return NULL;
  ln_ctx c;
  size_t x_len, g_len, b_len, y_len, xh_len, r_len;
  double eps;
  if (!(c.x = arg_f32(env, argv[0], &x_len, "x")) || !(c.gamma = arg_f32(env, argv[1], &g_len, "gamma")) ||
      !(c.beta = arg_f32(env, argv[2], &b_len, "beta")) || !(c.y = arg_f32(env, argv[3], &y_len, "y")) ||
      !(c.xhat = arg_f32(env, argv[4], &xh_len, "xhat")) || !(c.rstd = arg_f32(env, argv[5], &r_len, "rstd")) ||
      !arg_double(env, argv[6], &eps, "eps"))
    return NULL;
  c.h = g_len;
  if (c.h == 0 || b_len != c.h || x_len % c.h) return throw_range(env, "layerNorm", "gamma/beta length");
  if (y_len != x_len || xh_len != x_len || r_len != x_len / c.h) return throw_range(env, "layerNorm", "output size");
  c.eps = (float)eps;
  parallel_for(x_len / c.h, row_grain(c.h), ln_rows, &c);
  return NULL;
}

/* dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ; dγ = Σrows dy·x̂; dβ = Σrows dy.
 * The parameter sums go per block of rows into double partials (fixed blocks: the same result
 * whatever the thread count), then one pass adds the blocks in order. */
#define LN_BLOCK_ROWS 32

typedef struct {
  const float *dy, *xhat, *rstd, *gamma;
  float *dx, *gbuf;
  double *partial; /* [blocks, 2, h]: dγ then dβ */
  size_t rows, h;
} ln_grad_ctx;

VECTOR_CLONES static void ln_grad_blocks(void *arg, size_t begin, size_t end) {
  ln_grad_ctx *c = (ln_grad_ctx *)arg;
  size_t h = c->h;
  double inv_h = 1.0 / (double)h;
  for (size_t b = begin; b < end; b++) {
    double *dgamma = c->partial + b * 2 * h, *dbeta = dgamma + h;
    memset(dgamma, 0, 2 * h * sizeof(double));
    size_t last = (b + 1) * LN_BLOCK_ROWS < c->rows ? (b + 1) * LN_BLOCK_ROWS : c->rows;
    for (size_t r = b * LN_BLOCK_ROWS; r < last; r++) {
      const float *dy = c->dy + r * h, *xh = c->xhat + r * h;
      float *dx = c->dx + r * h;
      for (size_t i = 0; i < h; i++) {
        dx[i] = dy[i] * c->gamma[i]; /* g parked in dx until the row's means are known */
        dgamma[i] += dy[i] * xh[i];
        dbeta[i] += dy[i];
      }
      float m1 = (float)(v_sum(dx, h) * inv_h), m2 = (float)(v_dot(dx, xh, h) * inv_h), rs = c->rstd[r];
      for (size_t i = 0; i < h; i++) dx[i] = ((dx[i] - m1) - xh[i] * m2) * rs;
    }
  }
}

/* layerNormGrad(dy, xhat, rstd, gamma, dx, dgamma, dbeta) */
napi_value layer_norm_grad(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv)) return NULL;
  ln_grad_ctx c;
  size_t dy_len, xh_len, r_len, g_len, dx_len, dg_len, db_len;
  float *dgamma, *dbeta;
  if (!(c.dy = arg_f32(env, argv[0], &dy_len, "dy")) || !(c.xhat = arg_f32(env, argv[1], &xh_len, "xhat")) ||
      !(c.rstd = arg_f32(env, argv[2], &r_len, "rstd")) || !(c.gamma = arg_f32(env, argv[3], &g_len, "gamma")) ||
      !(c.dx = arg_f32(env, argv[4], &dx_len, "dx")) || !(dgamma = arg_f32(env, argv[5], &dg_len, "dgamma")) ||
      !(dbeta = arg_f32(env, argv[6], &db_len, "dbeta")))
    return NULL;
  c.h = g_len;
  if (c.h == 0 || dy_len % c.h || xh_len != dy_len || dx_len != dy_len || r_len != dy_len / c.h) return throw_range(env, "layerNormGrad", "input size");
  if (dg_len != c.h || db_len != c.h) return throw_range(env, "layerNormGrad", "parameter gradient size");
  c.rows = r_len;
  size_t blocks = (c.rows + LN_BLOCK_ROWS - 1) / LN_BLOCK_ROWS;
  c.partial = calloc(blocks ? blocks * 2 * c.h : 1, sizeof(double));
  if (!c.partial) {
    napi_throw_error(env, NULL, "layerNormGrad: out of memory");
    return NULL;
  }
  parallel_for(blocks, 1 + GRAIN_ELEMS / (LN_BLOCK_ROWS * c.h), ln_grad_blocks, &c);
  for (size_t i = 0; i < c.h; i++) {
    double sg = 0, sb = 0;
    for (size_t b = 0; b < blocks; b++) sg += c.partial[b * 2 * c.h + i], sb += c.partial[b * 2 * c.h + c.h + i];
    dgamma[i] = (float)sg;
    dbeta[i] = (float)sb;
  }
  free(c.partial);
  return NULL;
}

/* ---- erf-GELU: y = x·Φ(x), Φ(x) = 0.5·erf(x/√2) + 0.5; dx = dy·(Φ(x) + x·φ(x)) ---- */

typedef struct {
  const float *x, *dy;
  float *out;
} gelu_ctx;

static inline float gelu_cdf(float x) { return v_erff(x * (float)M_SQRT1_2) * 0.5f + 0.5f; }

VECTOR_CLONES static void gelu_range(void *arg, size_t begin, size_t end) {
  gelu_ctx *c = (gelu_ctx *)arg;
  for (size_t i = begin; i < end; i++) c->out[i] = c->x[i] * gelu_cdf(c->x[i]);
}

VECTOR_CLONES static void gelu_grad_range(void *arg, size_t begin, size_t end) {
  gelu_ctx *c = (gelu_ctx *)arg;
  const float inv_sqrt_2pi = (float)(1.0 / sqrt(2.0 * M_PI));
  for (size_t i = begin; i < end; i++) {
    float v = c->x[i];
    float pdf = v_expf((v * v) * -0.5f) * inv_sqrt_2pi;
    c->out[i] = c->dy[i] * (gelu_cdf(v) + v * pdf);
  }
}

/* gelu(x, y) */
napi_value gelu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  gelu_ctx c = {0};
  size_t x_len, y_len;
  if (!(c.x = arg_f32(env, argv[0], &x_len, "x")) || !(c.out = arg_f32(env, argv[1], &y_len, "y"))) return NULL;
  if (x_len != y_len) return throw_range(env, "gelu", "y size");
  parallel_for(x_len, GRAIN_ELEMS, gelu_range, &c);
  return NULL;
}

/* geluGrad(dy, x, dx) */
napi_value gelu_grad(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  gelu_ctx c;
  size_t dy_len, x_len, dx_len;
  if (!(c.dy = arg_f32(env, argv[0], &dy_len, "dy")) || !(c.x = arg_f32(env, argv[1], &x_len, "x")) ||
      !(c.out = arg_f32(env, argv[2], &dx_len, "dx")))
    return NULL;
  if (dy_len != x_len || dx_len != x_len) return throw_range(env, "geluGrad", "size");
  parallel_for(x_len, GRAIN_ELEMS, gelu_grad_range, &c);
  return NULL;
}

/* ---- softmax gradient over runs of n: dx = dy·y − Σ(dy·y)·y ---- */

typedef struct {
  const float *dy, *y;
  float *dx;
  size_t n;
} softmax_grad_ctx;

VECTOR_CLONES static void softmax_grad_rows(void *arg, size_t begin, size_t end) {
  softmax_grad_ctx *c = (softmax_grad_ctx *)arg;
  for (size_t r = begin; r < end; r++) {
    const float *dy = c->dy + r * c->n, *y = c->y + r * c->n;
    float *dx = c->dx + r * c->n;
    for (size_t i = 0; i < c->n; i++) dx[i] = dy[i] * y[i];
    float s = (float)v_sum(dx, c->n);
    for (size_t i = 0; i < c->n; i++) dx[i] = dx[i] - s * y[i];
  }
}

/* softmaxGrad(dy, y, dx, n) */
napi_value softmax_grad(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  softmax_grad_ctx c;
  size_t dy_len, y_len, dx_len;
  if (!(c.dy = arg_f32(env, argv[0], &dy_len, "dy")) || !(c.y = arg_f32(env, argv[1], &y_len, "y")) ||
      !(c.dx = arg_f32(env, argv[2], &dx_len, "dx")) || !arg_size(env, argv[3], &c.n, "n"))
    return NULL;
  if (c.n == 0 || y_len != dy_len || dx_len != dy_len || dy_len % c.n) return throw_range(env, "softmaxGrad", "size");
  parallel_for(dy_len / c.n, row_grain(c.n), softmax_grad_rows, &c);
  return NULL;
}
