/* Sum / mean of x viewed as [outer, r, inner] over r, accumulated in double (as the cpu
 * backend's JS loop does). The caller collapses any kept-reduced-kept axis pattern into that view. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

typedef struct {
  const float *x;
  float *out;
  size_t r, inner;
  double scale;
} reduce_ctx;

/* inner == 1: each output is the sum of a contiguous run. */
VECTOR_CLONES static void reduce_rows(void *arg, size_t begin, size_t end) {
  reduce_ctx *c = (reduce_ctx *)arg;
  for (size_t o = begin; o < end; o++) c->out[o] = (float)(v_sum(c->x + o * c->r, c->r) * c->scale);
}

/* inner > 1: work item = one (outer, column block); rows are streamed, columns accumulate. */
#define COLS 512
VECTOR_CLONES static void reduce_cols(void *arg, size_t begin, size_t end) {
  reduce_ctx *c = (reduce_ctx *)arg;
  size_t blocks = (c->inner + COLS - 1) / COLS;
  double acc[COLS];
  for (size_t item = begin; item < end; item++) {
    size_t o = item / blocks, col = (item % blocks) * COLS;
    size_t w = c->inner - col < COLS ? c->inner - col : COLS;
    memset(acc, 0, w * sizeof(double));
    const float *base = c->x + o * c->r * c->inner + col;
    for (size_t j = 0; j < c->r; j++) {
      const float *row = base + j * c->inner;
      for (size_t i = 0; i < w; i++) acc[i] += row[i];
    }
    float *dst = c->out + o * c->inner + col;
    for (size_t i = 0; i < w; i++) dst[i] = (float)(acc[i] * c->scale);
  }
}

/* reduce(x, out, outer, r, inner, mean: boolean) */
napi_value reduce(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv)) return NULL;
  reduce_ctx c;
  size_t x_len, out_len, outer;
  bool mean;
  if (!(c.x = arg_f32(env, argv[0], &x_len, "x")) || !(c.out = arg_f32(env, argv[1], &out_len, "out"))) return NULL;
  if (!arg_size(env, argv[2], &outer, "outer") || !arg_size(env, argv[3], &c.r, "r") ||
      !arg_size(env, argv[4], &c.inner, "inner") || !arg_bool(env, argv[5], &mean, "mean"))
    return NULL;
  if (x_len != outer * c.r * c.inner) return throw_range(env, "reduce", "x size");
  if (out_len != outer * c.inner) return throw_range(env, "reduce", "out size");
  // Mean over nothing is 0 in tfjs (its cpu backend sums x / r), not NaN.
  c.scale = mean && c.r ? 1.0 / (double)c.r : 1.0;
  if (c.inner == 1) {
    parallel_for(outer, 1 + 32768 / (c.r + 1), reduce_rows, &c);
  } else {
    size_t blocks = (c.inner + COLS - 1) / COLS;
    size_t per_item = c.r * (c.inner < COLS ? c.inner : COLS);
    parallel_for(outer * blocks, 1 + 32768 / (per_item + 1), reduce_cols, &c);
  }
  return NULL;
}
