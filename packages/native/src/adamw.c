/* One AdamW step for one parameter in a single threaded pass (the composed tfjs version is
 * ~13 elementwise kernels, each allocating a parameter-sized array). Same float32 operations in
 * the same order as the trainer's composition, so results match it bit for bit:
 *   m' = m·b1 + g·(1-b1);  v' = v·b2 + g²·(1-b2)
 *   p' = p·keep - (m' / (sqrt(v') / sqrt(bc2) + eps)) · (lr / bc1)      (keep = 1 - lr·decay) */
#include <math.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

typedef struct {
  const float *p, *g, *m, *v;
  float *p_out, *m_out, *v_out;
  float b1, one_minus_b1, b2, one_minus_b2, sqrt_bc2, eps, step, keep;
  bool decay;
} adamw_ctx;

static void adamw_range(void *arg, size_t begin, size_t end) {
  adamw_ctx *c = (adamw_ctx *)arg;
  for (size_t i = begin; i < end; i++) {
    float g = c->g[i];
    float m = c->m[i] * c->b1 + g * c->one_minus_b1;
    float v = c->v[i] * c->b2 + (g * g) * c->one_minus_b2;
    float denom = sqrtf(v) / c->sqrt_bc2 + c->eps;
    float p = c->decay ? c->p[i] * c->keep : c->p[i];
    c->p_out[i] = p - (m / denom) * c->step;
    c->m_out[i] = m;
    c->v_out[i] = v;
  }
}

/* adamw(p, g, m, v, pOut, mOut, vOut, scalars: Float32Array [b1, 1-b1, b2, 1-b2, sqrt(bc2), eps, lr/bc1, keep], decay: boolean) */
napi_value adamw(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (!get_args(env, info, 9, argv)) return NULL;
  adamw_ctx c;
  size_t n[7], ns;
  float *s;
  if (!(c.p = arg_f32(env, argv[0], &n[0], "p")) || !(c.g = arg_f32(env, argv[1], &n[1], "g")) ||
      !(c.m = arg_f32(env, argv[2], &n[2], "m")) || !(c.v = arg_f32(env, argv[3], &n[3], "v")) ||
      !(c.p_out = arg_f32(env, argv[4], &n[4], "pOut")) || !(c.m_out = arg_f32(env, argv[5], &n[5], "mOut")) ||
      !(c.v_out = arg_f32(env, argv[6], &n[6], "vOut")) || !(s = arg_f32(env, argv[7], &ns, "scalars")) ||
      !arg_bool(env, argv[8], &c.decay, "decay"))
    return NULL;
  for (int i = 1; i < 7; i++)
    if (n[i] != n[0]) return throw_range(env, "adamw", "operand sizes");
  if (ns != 8) return throw_range(env, "adamw", "scalars");
  c.b1 = s[0], c.one_minus_b1 = s[1], c.b2 = s[2], c.one_minus_b2 = s[3];
  c.sqrt_bc2 = s[4], c.eps = s[5], c.step = s[6], c.keep = s[7];
  parallel_for(n[0], 32768, adamw_range, &c);
  return NULL;
}
