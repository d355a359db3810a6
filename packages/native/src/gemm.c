/* Batched matrix product in OpenBLAS: out[i] = op(A[aOff[i]]) · op(B[bOff[i]]) (+ bias row).
 * The caller resolves batch broadcasting into per-batch element offsets. gemmStrided also takes
 * each operand's row stride and the output's offsets, so attention reads and writes the heads
 * of a [B·S, H] activation in place instead of transposing them out and back. */
#include <cblas.h>
#include <string.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

/* Below this many multiply-adds per matrix, OpenBLAS's own threading costs more than it gains:
 * give each of our threads whole matrices and keep OpenBLAS single-threaded meanwhile. With at
 * least a few matrices per thread (attention's B·heads products, 512×512×64 at seq 512) whole
 * matrices per thread win at any size. */
#define SPLIT_BATCH_BELOW (1u << 22)
#define MATRICES_PER_THREAD 4

typedef struct {
  CBLAS_TRANSPOSE ta, tb;
  size_t m, n, k, lda, ldb, ldc;
  float beta;
  const float *a, *b;
  const double *a_off, *b_off, *out_off; /* out_off NULL: output i at i·m·n, packed */
  float *out;
} gemm_ctx;

static void gemm_range(void *arg, size_t begin, size_t end) {
  gemm_ctx *c = (gemm_ctx *)arg;
  for (size_t i = begin; i < end; i++) {
    size_t o = c->out_off ? (size_t)c->out_off[i] : i * c->m * c->n;
    cblas_sgemm(CblasRowMajor, c->ta, c->tb, (int)c->m, (int)c->n, (int)c->k, 1.0f, c->a + (size_t)c->a_off[i],
                (int)c->lda, c->b + (size_t)c->b_off[i], (int)c->ldb, c->beta, c->out + o, (int)c->ldc);
  }
}

static size_t max1(size_t x) { return x ? x : 1; }

/* Small products: our threads take whole matrices and OpenBLAS stays single-threaded meanwhile. */
static void run_batch(gemm_ctx *c, size_t batch) {
  size_t threads = (size_t)parallel_threads();
  bool many = batch >= MATRICES_PER_THREAD * threads;
  if (threads > 1 && batch > 1 && (many || c->m * c->n * c->k < SPLIT_BATCH_BELOW)) {
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    parallel_for(batch, 1, gemm_range, c);
    openblas_set_num_threads(blas_threads);
  } else {
    gemm_range(c, 0, batch);
  }
}

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
                max1(trans_a ? m : k), max1(trans_b ? k : n), max1(n), 0.0f, a, b, a_off, b_off, NULL, out};
  if (bias) {
    // Seed every output row with the bias and let sgemm accumulate onto it (beta = 1).
    for (size_t r = 0; r < batch * m; r++) memcpy(out + r * n, bias, n * sizeof(float));
    c.beta = 1.0f;
  }
  if (k == 0) return NULL;  // op(A)·op(B) is all zeros: out already holds 0 or the bias.
  run_batch(&c, batch);
  return NULL;
}

/* Every matrix of a batch (rows × cols, row stride ld, at each offset) lies inside len elements. */
static bool fits(const double *off, size_t batch, size_t rows, size_t cols, size_t ld, size_t len) {
  if (rows == 0 || cols == 0) return true;
  if (ld < cols) return false;
  for (size_t i = 0; i < batch; i++)
    if (off[i] < 0 || (size_t)off[i] + (rows - 1) * ld + cols > len) return false;
  return true;
}

/* gemmStrided(a, aOff, lda, b, bOff, ldb, out, outOff, ldc, m, n, k, transA, transB):
 * out (at outOff[i], row stride ldc) = op(A at aOff[i], row stride lda) · op(B at bOff[i], ldb). */
napi_value gemm_strided(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  if (!get_args(env, info, 14, argv)) return NULL;
  size_t a_len, b_len, out_len, na, nb, no, lda, ldb, ldc, m, n, k;
  bool trans_a, trans_b;
  const float *a, *b;
  const double *a_off, *b_off, *out_off;
  float *out;
  if (!(a = arg_f32(env, argv[0], &a_len, "a")) || !(a_off = arg_f64(env, argv[1], &na, "aOffsets")) ||
      !arg_size(env, argv[2], &lda, "lda") || !(b = arg_f32(env, argv[3], &b_len, "b")) ||
      !(b_off = arg_f64(env, argv[4], &nb, "bOffsets")) || !arg_size(env, argv[5], &ldb, "ldb") ||
      !(out = arg_f32(env, argv[6], &out_len, "out")) || !(out_off = arg_f64(env, argv[7], &no, "outOffsets")) ||
      !arg_size(env, argv[8], &ldc, "ldc") || !arg_size(env, argv[9], &m, "m") || !arg_size(env, argv[10], &n, "n") ||
      !arg_size(env, argv[11], &k, "k") || !arg_bool(env, argv[12], &trans_a, "transA") || !arg_bool(env, argv[13], &trans_b, "transB"))
    return NULL;
  if (nb != na || no != na) return throw_range(env, "gemmStrided", "offset counts");
  if (!fits(a_off, na, trans_a ? k : m, trans_a ? m : k, lda, a_len)) return throw_range(env, "gemmStrided", "a offsets/stride");
  if (!fits(b_off, na, trans_b ? n : k, trans_b ? k : n, ldb, b_len)) return throw_range(env, "gemmStrided", "b offsets/stride");
  if (!fits(out_off, na, m, n, ldc, out_len)) return throw_range(env, "gemmStrided", "out offsets/stride");
  if (m == 0 || n == 0 || k == 0) return NULL; /* the caller's output starts zeroed */
  gemm_ctx c = {trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, lda, ldb, ldc, 0.0f, a, b, a_off, b_off, out_off, out};
  run_batch(&c, na);
  return NULL;
}
