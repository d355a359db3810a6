/* Softmax over the last axis of x viewed as [rows, n]: exp(x - max) / sum, sum in double,
 * exp, max and sum vectorised (vmath.h). */
#include <math.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

typedef struct {
  const float *x;
  float *out;
  size_t n;
} softmax_ctx;

VECTOR_CLONES static void softmax_rows(void *arg, size_t begin, size_t end) {
  softmax_ctx *c = (softmax_ctx *)arg;
  for (size_t r = begin; r < end; r++) {
    const float *x = c->x + r * c->n;
    float *o = c->out + r * c->n;
    float max = v_max(x, c->n);
    for (size_t i = 0; i < c->n; i++) o[i] = v_expf(x[i] - max); /* its own loop, so it vectorises */
    double sum = v_sum(o, c->n);
    double inv = 1.0 / sum;
    for (size_t i = 0; i < c->n; i++) o[i] = (float)(o[i] * inv);
  }
}

/* softmax(x, out, n) */
napi_value softmax(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv)) return NULL;
  softmax_ctx c;
  size_t x_len, out_len;
  if (!(c.x = arg_f32(env, argv[0], &x_len, "x")) || !(c.out = arg_f32(env, argv[1], &out_len, "out")) ||
      !arg_size(env, argv[2], &c.n, "n"))
    return NULL;
  if (x_len != out_len || c.n == 0 || x_len % c.n) return throw_range(env, "softmax", "x size");
  parallel_for(x_len / c.n, 1 + 32768 / c.n, softmax_rows, &c);
  return NULL;
}
