/* Reading N-API arguments: each helper throws a JS TypeError and returns 0/NULL on bad input,
 * so a caller just returns NULL when a helper fails. */
#ifndef DISTILLERY_ARGS_H
#define DISTILLERY_ARGS_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fetch exactly `n` arguments into argv; false (with a pending exception) if fewer were passed. */
bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv);

/* A typed array of the given element type; *len receives its element count. */
float *arg_f32(napi_env env, napi_value v, size_t *len, const char *name);
int32_t *arg_i32(napi_env env, napi_value v, size_t *len, const char *name);
double *arg_f64(napi_env env, napi_value v, size_t *len, const char *name);

/* A non-negative integer (sizes, counts); false on anything else. */
bool arg_size(napi_env env, napi_value v, size_t *out, const char *name);
bool arg_double(napi_env env, napi_value v, double *out, const char *name);
bool arg_bool(napi_env env, napi_value v, bool *out, const char *name);

/* Throw a RangeError naming the kernel when a size does not fit its buffer; returns NULL. */
napi_value throw_range(napi_env env, const char *kernel, const char *what);

#endif
