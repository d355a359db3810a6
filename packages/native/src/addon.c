/* Module entry: exports the kernels and reports the thread count they use. */
#include <malloc.h>

#include "args.h"
#include "kernels.h"
#include "parallel.h"

static napi_value threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_int32(env, parallel_threads(), &v);
  return v;
}

/* Keep freed activation buffers for reuse. Every tfjs kernel output is a fresh zero-filled
 * ArrayBuffer (calloc); glibc serves the large ones (128 KiB up, its threshold creeping up to
 * the largest freed) with a new mmap each, so each costs a page fault per 4 KiB and an munmap
 * when freed: hundreds of MiB of faults per training step. Served from the heap and never
 * trimmed, a freed buffer is reused as is; calloc's memset is all that remains. M_MMAP_THRESHOLD
 * cannot exceed 32 MiB, so blocks above it (attention's [B, heads, S, S] at S >= 256: 50-200
 * MiB) would still be mmapped each time: M_MMAP_MAX 0 turns mmap off for the heap's requests
 * (glibc still falls back to mmap when the heap cannot grow). At seq 512 that took a base-pair
 * step from ~1 000 000 minor faults to ~4 000. Called when the native backend is created. */
static napi_value keep_buffers(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
#ifdef __GLIBC__
  int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) && mallopt(M_MMAP_MAX, 0) && mallopt(M_TRIM_THRESHOLD, 1 << 30) &&
           mallopt(M_TOP_PAD, 64 << 20);
#else
  int ok = 0;
#endif
  napi_get_boolean(env, ok, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"threads", NULL, threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"keepBuffers", NULL, keep_buffers, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gemmStrided", NULL, gemm_strided, NULL, NULL, NULL, napi_enumerable, NULL},
      {"binary", NULL, binary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unary", NULL, unary, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reduce", NULL, reduce, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmax", NULL, softmax, NULL, NULL, NULL, napi_enumerable, NULL},
      {"transpose", NULL, transpose, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gather", NULL, gather, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scatterAdd", NULL, scatter_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adamw", NULL, adamw, NULL, NULL, NULL, napi_enumerable, NULL},
      {"layerNorm", NULL, layer_norm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"layerNormGrad", NULL, layer_norm_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gelu", NULL, gelu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"geluGrad", NULL, gelu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
      {"softmaxGrad", NULL, softmax_grad, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
