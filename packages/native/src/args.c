#include "args.h"

#include <math.h>
#include <stdio.h>

bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < n) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", n, argc);
    napi_throw_type_error(env, NULL, msg);
    return false;
  }
  return true;
}

static void *typed(napi_env env, napi_value v, napi_typedarray_type want, size_t *len, const char *name,
                   const char *type_name) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  napi_typedarray_type type;
  void *data = NULL;
  if (is_typed && napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) == napi_ok && type == want) {
    // An empty typed array may report a NULL data pointer; hand out a valid one.
    static float empty[1];
    return data ? data : (void *)empty;
  }
  char msg[128];
  snprintf(msg, sizeof msg, "%s must be a %s", name, type_name);
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

float *arg_f32(napi_env env, napi_value v, size_t *len, const char *name) {
  return (float *)typed(env, v, napi_float32_array, len, name, "Float32Array");
}

int32_t *arg_i32(napi_env env, napi_value v, size_t *len, const char *name) {
  return (int32_t *)typed(env, v, napi_int32_array, len, name, "Int32Array");
}

double *arg_f64(napi_env env, napi_value v, size_t *len, const char *name) {
  return (double *)typed(env, v, napi_float64_array, len, name, "Float64Array");
}

bool arg_double(napi_env env, napi_value v, double *out, const char *name) {
  if (napi_get_value_double(env, v, out) == napi_ok) return true;
  char msg[96];
  snprintf(msg, sizeof msg, "%s must be a number", name);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

bool arg_size(napi_env env, napi_value v, size_t *out, const char *name) {
  double d;
  if (!arg_double(env, v, &d, name)) return false;
  if (d < 0 || d != floor(d) || d > 9007199254740991.0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a non-negative integer", name);
    napi_throw_range_error(env, NULL, msg);
    return false;
  }
  *out = (size_t)d;
  return true;
}

bool arg_bool(napi_env env, napi_value v, bool *out, const char *name) {
  if (napi_get_value_bool(env, v, out) == napi_ok) return true;
  char msg[96];
  snprintf(msg, sizeof msg, "%s must be a boolean", name);
  napi_throw_type_error(env, NULL, msg);
  return false;
}

napi_value throw_range(napi_env env, const char *kernel, const char *what) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s does not fit its buffer", kernel, what);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}
