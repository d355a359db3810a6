/* Every function the addon exports; each is a synchronous N-API callback over TypedArrays. */
#ifndef DISTILLERY_KERNELS_H
#define DISTILLERY_KERNELS_H

#define NAPI_VERSION 8
#include <node_api.h>

napi_value gemm(napi_env env, napi_callback_info info);
napi_value gemm_strided(napi_env env, napi_callback_info info);
napi_value binary(napi_env env, napi_callback_info info);
napi_value unary(napi_env env, napi_callback_info info);
napi_value reduce(napi_env env, napi_callback_info info);
napi_value softmax(napi_env env, napi_callback_info info);
napi_value transpose(napi_env env, napi_callback_info info);
napi_value gather(napi_env env, napi_callback_info info);
napi_value scatter_add(napi_env env, napi_callback_info info);
napi_value adamw(napi_env env, napi_callback_info info);
napi_value layer_norm(napi_env env, napi_callback_info info);
napi_value layer_norm_grad(napi_env env, napi_callback_info info);
napi_value gelu(napi_env env, napi_callback_info info);
napi_value gelu_grad(napi_env env, napi_callback_info info);
napi_value softmax_grad(napi_env env, napi_callback_info info);

#endif
