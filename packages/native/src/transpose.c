/* Transpose of a 4-byte tensor (float32 or int32 bits). The caller passes the output shape and,
 * for each output dim, the element stride of the input that walks it (dims pre-collapsed). */
#include <stdint.h>
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

#define MAX_RANK 8

typedef struct {
  const uint32_t *x; /* moved as raw bits: never a float load that could touch a NaN payload */
  uint32_t *out;
  int rank;
  size_t shape[MAX_RANK], stride[MAX_RANK];
} transpose_ctx;

/* Work item = one output row (all of the last output dim). */
static void transpose_rows(void *arg, size_t begin, size_t end) {
  transpose_ctx *c = (transpose_ctx *)arg;
  int last = c->rank - 1;
  size_t n = c->shape[last], s = c->stride[last];
  for (size_t row = begin; row < end; row++) {
    size_t off = 0, rem = row;
    for (int d = last - 1; d >= 0; d--) {
      off += (rem % c->shape[d]) * c->stride[d];
      rem /= c->shape[d];
    }
    const uint32_t *src = c->x + off;
    uint32_t *dst = c->out + row * n;
    if (s == 1) memcpy(dst, src, n * sizeof(uint32_t));
    else for (size_t i = 0; i < n; i++) dst[i] = src[i * s];
  }
}

/* transpose(x, out, outShape: Float64Array, inStrides: Float64Array); x and out are Float32Arrays
 * (int32 data is passed through a Float32Array view: only bits move). */
napi_value transpose(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  transpose_ctx c;
  size_t x_len, out_len, rank, rs;
  if (!(c.x = (const uint32_t *)arg_f32(env, argv[0], &x_len, "x")) ||
      !(c.out = (uint32_t *)arg_f32(env, argv[1], &out_len, "out")))
    return NULL;
  double *shape = arg_f64(env, argv[2], &rank, "outShape");
  double *stride = shape ? arg_f64(env, argv[3], &rs, "inStrides") : NULL;
  if (!stride) return NULL;
  if (rank == 0 || rank > MAX_RANK || rs != rank) return throw_range(env, "transpose", "rank");
  c.rank = (int)rank;
  size_t size = 1, end = 1;
  for (size_t d = 0; d < rank; d++) {
    c.shape[d] = (size_t)shape[d];
    c.stride[d] = (size_t)stride[d];
    size *= c.shape[d];
    if (c.shape[d]) end += (c.shape[d] - 1) * c.stride[d];
  }
  if (size != out_len || x_len != out_len) return throw_range(env, "transpose", "out size");
  if (size == 0) return NULL;
  if (end > x_len) return throw_range(env, "transpose", "input strides");
  size_t n = c.shape[rank - 1];
  parallel_for(size / n, 1 + 32768 / n, transpose_rows, &c);
  return NULL;
}
