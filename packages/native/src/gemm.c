/* Batched matrix product in OpenBLAS: out[i] = op(A[aOff[i]]) · op(B[bOff[i]]) (+ bias row).
 * The caller resolves batch broadcasting into per-batch element offsets. */
#include <cblas.h>
#include <string.h>

#include "args.h"
#include "kernels.h"

static size_t max1(size_t x) { return x ? x : 1; }

/* gemm(a, aOff, b, bOff, out, m, n, k, transA, transB, bias | null) */
napi_value gemm(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  if (!get_args(env, info, 11, argv)) return NULL;
  size_t a_len, a_off_len, b_len, b_off_len, out_len, m, n, k;
  bool trans_a, trans_b;
  float *a = arg_f32(env, argv[0], &a_len, "a");
  if (!a) return NULL;
  double *a_off = arg_f64(env, argv[1], &a_off_len, "aOffsets");
  if (!a_off) return NULL;
  float *b = arg_f32(env, argv[2], &b_len, "b");
  if (!b) return NULL;
  double *b_off = arg_f64(env, argv[3], &b_off_len, "bOffsets");
  if (!b_off) return NULL;
  float *out = arg_f32(env, argv[4], &out_len, "out");
  if (!out) return NULL;
  if (!arg_size(env, argv[5], &m, "m") || !arg_size(env, argv[6], &n, "n") || !arg_size(env, argv[7], &k, "k") ||
      !arg_bool(env, argv[8], &trans_a, "transA") || !arg_bool(env, argv[9], &trans_b, "transB"))
    return NULL;
  napi_valuetype bias_type;
  napi_typeof(env, argv[10], &bias_type);
  float *bias = NULL;
  size_t bias_len = 0;
  if (bias_type != napi_null && !(bias = arg_f32(env, argv[10], &bias_len, "bias"))) return NULL;

  size_t batch = a_off_len;
  if (b_off_len != batch) return throw_range(env, "gemm", "bOffsets length");
  if (out_len != batch * m * n) return throw_range(env, "gemm", "out size");
  if (bias && bias_len != n) return throw_range(env, "gemm", "bias length");
  for (size_t i = 0; i < batch; i++) {
    if (a_off[i] < 0 || (size_t)a_off[i] + m * k > a_len) return throw_range(env, "gemm", "a batch offset");
    if (b_off[i] < 0 || (size_t)b_off[i] + k * n > b_len) return throw_range(env, "gemm", "b batch offset");
  }
  if (m == 0 || n == 0) return NULL;

  // Row-major: A is [m, k] (lda k) or, transposed, stored [k, m] (lda m); likewise B.
  size_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  float beta = 0.0f;
  if (bias) {
    // Seed every output row with the bias and let sgemm accumulate onto it (beta = 1).
    for (size_t r = 0; r < batch * m; r++) memcpy(out + r * n, bias, n * sizeof(float));
    beta = 1.0f;
  }
  if (k == 0) return NULL;  // op(A)·op(B) is all zeros: out already holds 0 or the bias.
  for (size_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, 1.0f, a + (size_t)a_off[i], (int)max1(lda), b + (size_t)b_off[i], (int)max1(ldb),
                beta, out + i * m * n, (int)max1(n));
  }
  return NULL;
}
