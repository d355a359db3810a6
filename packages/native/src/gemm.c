/* Batched matrix product in OpenBLAS: out[i] = op(A[aOff[i]]) · op(B[bOff[i]]) (+ bias row).
 * The caller resolves batch broadcasting into per-batch element offsets. */
#include <cblas.h>
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

/* Below this many multiply-adds per matrix, OpenBLAS's own threading costs more than it gains:
 * give each of our threads whole matrices and keep OpenBLAS single-threaded meanwhile. */
#define SPLIT_BATCH_BELOW (1u << 22)

typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  size_t m, n, k, lda, ldb;
  float beta;
  const float *a, *b;
  const double *a_off, *b_off;
  float *out;
} gemm_ctx;

static void gemm_range(void *arg, size_t begin, size_t end) {
  gemm_ctx *c = (gemm_ctx *)arg;
  for (size_t i = begin; i < end; i++)
    cblas_sgemm(CblasRowMajor, c->ta, c->tb, (int)c->m, (int)c->n, (int)c->k, 1.0f, c->a + (size_t)c->a_off[i],
                (int)c->lda, c->b + (size_t)c->b_off[i], (int)c->ldb, c->beta, c->out + i * c->m * c->n, (int)c->n);
}

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
  gemm_ctx c = {trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
                max1(trans_a ? m : k), max1(trans_b ? k : n), 0.0f, a, b, a_off, b_off, out};
  if (bias) {
    // Seed every output row with the bias and let sgemm accumulate onto it (beta = 1).
    for (size_t r = 0; r < batch * m; r++) memcpy(out + r * n, bias, n * sizeof(float));
    c.beta = 1.0f;
  }
  if (k == 0) return NULL;  // op(A)·op(B) is all zeros: out already holds 0 or the bias.
  if (batch > 1 && m * n * k < SPLIT_BATCH_BELOW && parallel_threads() > 1) {
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    parallel_for(batch, 1, gemm_range, &c);
    openblas_set_num_threads(blas_threads);
  } else {
    gemm_range(&c, 0, batch);
  }
  return NULL;
}
