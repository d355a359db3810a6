/* Elementwise float32 kernels, threaded over blocks.
 * binary: out = a ∘ b with broadcasting, described by the caller as a collapsed output shape and
 *   per-input element strides (0 where the input repeats). unary: out = f(x). */
#include <math.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

#define MAX_RANK 8
#define BLOCK 8192 /* elements per work item: a 32 KiB slice of the output stays in L1/L2 */

enum binary_op { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQDIFF };

typedef struct {
  const float *a, *b;
  float *out;
  int op, rank;
  size_t shape[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
  size_t inner, blocks_per_row;
} binary_ctx;

/* One loop per (op, inner strides) pair, so the compiler vectorises the common ones. */
#define BINARY_LOOP(EXPR)                                                                       \
  if (ia && ib) for (size_t i = 0; i < len; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
  else if (ia) { float y = b[0]; for (size_t i = 0; i < len; i++) { float x = a[i]; o[i] = (EXPR); } } \
  else if (ib) { float x = a[0]; for (size_t i = 0; i < len; i++) { float y = b[i]; o[i] = (EXPR); } } \
  else { float x = a[0], y = b[0]; for (size_t i = 0; i < len; i++) o[i] = (EXPR); }

static void binary_span(int op, const float *a, const float *b, float *o, size_t len, int ia, int ib) {
  switch (op) {
    case OP_ADD: BINARY_LOOP(x + y); break;
    case OP_SUB: BINARY_LOOP(x - y); break;
    case OP_MUL: BINARY_LOOP(x * y); break;
    case OP_DIV: BINARY_LOOP(x / y); break;
    /* in double, as the cpu backend's JS does: one rounding, not two */
    case OP_SQDIFF: BINARY_LOOP((float)(((double)x - y) * ((double)x - y))); break;
  }
}

static void binary_range(void *arg, size_t begin, size_t end) {
  binary_ctx *c = (binary_ctx *)arg;
  int last = c->rank - 1;
  for (size_t item = begin; item < end; item++) {
    size_t row = item / c->blocks_per_row, start = (item % c->blocks_per_row) * BLOCK;
    size_t len = c->inner - start < BLOCK ? c->inner - start : BLOCK;
    // Decode the row index over the outer dims into each input's element offset.
    size_t oa = 0, ob = 0, rem = row;
    for (int d = last - 1; d >= 0; d--) {
      size_t i = rem % c->shape[d];
      rem /= c->shape[d];
      oa += i * c->sa[d];
      ob += i * c->sb[d];
    }
    int ia = c->sa[last] != 0, ib = c->sb[last] != 0;
    binary_span(c->op, c->a + oa + (ia ? start : 0), c->b + ob + (ib ? start : 0), c->out + row * c->inner + start, len, ia,
                ib);
  }
}

/* binary(op, a, b, out, shape: Float64Array, aStrides: Float64Array, bStrides: Float64Array) */
napi_value binary(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  if (!get_args(env, info, 7, argv)) return NULL;
  binary_ctx c;
  size_t op, a_len, b_len, out_len, rank, ra, rb;
  if (!arg_size(env, argv[0], &op, "op")) return NULL;
  if (!(c.a = arg_f32(env, argv[1], &a_len, "a")) || !(c.b = arg_f32(env, argv[2], &b_len, "b")) ||
      !(c.out = arg_f32(env, argv[3], &out_len, "out")))
    return NULL;
  double *shape = arg_f64(env, argv[4], &rank, "shape");
  double *sa = shape ? arg_f64(env, argv[5], &ra, "aStrides") : NULL;
  double *sb = sa ? arg_f64(env, argv[6], &rb, "bStrides") : NULL;
  if (!sb) return NULL;
  if (op > OP_SQDIFF) return throw_range(env, "binary", "op");
  if (rank == 0 || rank > MAX_RANK || ra != rank || rb != rank) return throw_range(env, "binary", "rank");
  c.op = (int)op;
  c.rank = (int)rank;
  size_t size = 1, a_end = 1, b_end = 1;
  for (size_t d = 0; d < rank; d++) {
    c.shape[d] = (size_t)shape[d];
    c.sa[d] = (size_t)sa[d];
    c.sb[d] = (size_t)sb[d];
    size *= c.shape[d];
    if (c.shape[d]) a_end += (c.shape[d] - 1) * c.sa[d], b_end += (c.shape[d] - 1) * c.sb[d];
  }
  if (size != out_len) return throw_range(env, "binary", "out size");
  if (size == 0) return NULL;
  if (a_end > a_len || b_end > b_len) return throw_range(env, "binary", "input strides");
  if (c.sa[rank - 1] > 1 || c.sb[rank - 1] > 1) return throw_range(env, "binary", "innermost stride (must be 0 or 1)");
  c.inner = c.shape[rank - 1];
  c.blocks_per_row = (c.inner + BLOCK - 1) / BLOCK;
  size_t per_item = c.inner < BLOCK ? c.inner : BLOCK;
  parallel_for(size / c.inner * c.blocks_per_row, (4 * BLOCK + per_item - 1) / per_item, binary_range, &c);
  return NULL;
}

enum unary_op { OP_EXP, OP_NEG, OP_SQRT, OP_RSQRT, OP_SQUARE, OP_ERF, OP_TANH, OP_SIGMOID, OP_LOG, OP_RECIPROCAL, OP_ABS };

typedef struct {
  const float *x;
  float *out;
  int op;
} unary_ctx;

#define UNARY_LOOP(EXPR) for (size_t i = begin; i < end; i++) { float v = x[i]; o[i] = (EXPR); }

static void unary_range(void *arg, size_t begin, size_t end) {
  unary_ctx *c = (unary_ctx *)arg;
  const float *x = c->x;
  float *o = c->out;
  switch (c->op) {
    case OP_EXP: UNARY_LOOP(expf(v)); break;
    case OP_NEG: UNARY_LOOP(-v); break;
    case OP_SQRT: UNARY_LOOP(sqrtf(v)); break;
    case OP_RSQRT: UNARY_LOOP(1.0f / sqrtf(v)); break;
    case OP_SQUARE: UNARY_LOOP(v * v); break;
    case OP_ERF: UNARY_LOOP(erff(v)); break;
    case OP_TANH: UNARY_LOOP(tanhf(v)); break;
    case OP_SIGMOID: UNARY_LOOP(1.0f / (1.0f + expf(-v))); break;
    case OP_LOG: UNARY_LOOP(logf(v)); break;
    case OP_RECIPROCAL: UNARY_LOOP(1.0f / v); break;
    case OP_ABS: UNARY_LOOP(fabsf(v)); break;
  }
}

/* unary(op, x, out) */
napi_value unary(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  unary_ctx c;
  size_t op, x_len, out_len;
  if (!arg_size(env, argv[0], &op, "op")) return NULL;
  if (!(c.x = arg_f32(env, argv[1], &x_len, "x")) || !(c.out = arg_f32(env, argv[2], &out_len, "out"))) return NULL;
  if (op > OP_ABS) return throw_range(env, "unary", "op");
  if (x_len != out_len) return throw_range(env, "unary", "out size");
  c.op = (int)op;
  parallel_for(x_len, 4 * BLOCK, unary_range, &c);
  return NULL;
}
