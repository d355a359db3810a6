/* Row gather and row scatter-add: the embedding lookup and its gradient.
 * gather:      x as [outer, axis, inner] → out[o, i, :] = x[o, idx[i], :]
 * scatter_add: out[idx[i], :] += rows[i, :] (duplicates summed; threads split columns, so no two
 *              threads ever add into the same element). */
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

typedef struct {
  const uint32_t *x; /* 4-byte elements moved as raw bits (float32 or int32 tables) */
  uint32_t *out;
  const int32_t *idx;
  size_t n, axis, inner;
} gather_ctx;

static void gather_range(void *arg, size_t begin, size_t end) {
  gather_ctx *c = (gather_ctx *)arg;
  for (size_t item = begin; item < end; item++) {
    size_t o = item / c->n, i = item % c->n;
    memcpy(c->out + item * c->inner, c->x + (o * c->axis + (size_t)c->idx[i]) * c->inner, c->inner * sizeof(uint32_t));
  }
}

/* gather(x, indices, out, outer, axis, inner) → -1, or the position of the first index outside
 * [0, axis) (nothing is written then; the caller reports it). */
napi_value gather(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  if (!get_args(env, info, 6, argv)) return NULL;
  gather_ctx c;
  size_t x_len, out_len, outer;
  if (!(c.x = (const uint32_t *)arg_f32(env, argv[0], &x_len, "x")) || !(c.idx = arg_i32(env, argv[1], &c.n, "indices")) ||
      !(c.out = (uint32_t *)arg_f32(env, argv[2], &out_len, "out")) || !arg_size(env, argv[3], &outer, "outer") ||
      !arg_size(env, argv[4], &c.axis, "axis") || !arg_size(env, argv[5], &c.inner, "inner"))
    return NULL;
  if (x_len != outer * c.axis * c.inner) return throw_range(env, "gather", "x size");
  if (out_len != outer * c.n * c.inner) return throw_range(env, "gather", "out size");
  napi_value result;
  for (size_t i = 0; i < c.n; i++) {
    if (c.idx[i] < 0 || (size_t)c.idx[i] >= c.axis) {
      napi_create_double(env, (double)i, &result);
      return result;
    }
  }
  if (c.inner > 0) parallel_for(outer * c.n, 1 + 16384 / c.inner, gather_range, &c);
  napi_create_int32(env, -1, &result);
  return result;
}

typedef struct {
  const float *rows;
  float *out;
  const int32_t *idx;
  size_t n, targets, width;
} scatter_ctx;

static void scatter_cols(void *arg, size_t begin, size_t end) {
  scatter_ctx *c = (scatter_ctx *)arg;
  for (size_t i = 0; i < c->n; i++) {
    int32_t t = c->idx[i];
    if (t < 0 || (size_t)t >= c->targets) continue;  // unsorted-segment semantics: dropped
    const float *src = c->rows + i * c->width;
    float *dst = c->out + (size_t)t * c->width;
    for (size_t j = begin; j < end; j++) dst[j] += src[j];
  }
}

/* scatterAdd(rows [n, width], indices [n], out [targets, width]); indices outside [0, targets)
 * are skipped (the caller validates first where they must raise). */
napi_value scatter_add(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  scatter_ctx c;
  size_t rows_len, out_len;
  if (!(c.rows = arg_f32(env, argv[0], &rows_len, "rows")) || !(c.idx = arg_i32(env, argv[1], &c.n, "indices")) ||
      !(c.out = arg_f32(env, argv[2], &out_len, "out")))
    return NULL;
  if (c.n == 0) return NULL;
  if (rows_len % c.n) return throw_range(env, "scatterAdd", "rows size");
  c.width = rows_len / c.n;
  if (c.width == 0) return NULL;
  if (out_len % c.width) return throw_range(env, "scatterAdd", "out size");
  c.targets = out_len / c.width;
  parallel_for(c.width, 1 + 65536 / c.n, scatter_cols, &c);
  return NULL;
}
