/* Branch-free float exp and erf that gcc vectorises: glibc's expf and erff are scalar calls,
 * and on attention maps and FFN activations they were most of those kernels' time. Row sums and
 * maxima over independent lanes, for the same reason. VECTOR_CLONES compiles a loop for AVX2 and
 * for the baseline, picked at load time. */
#ifndef DISTILLERY_VMATH_H
#define DISTILLERY_VMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* A single accumulator is a chain of dependent adds (4 cycles each) that gcc may not reorder
 * without -ffast-math: on a 512-wide attention row that chain, not memory, bounded the softmax.
 * LANES independent partials vectorise; they change only the order of the double additions. */
#define LANES 8

/* Σ x[i], accumulated in double. */
static inline double v_sum(const float *x, size_t n) {
  double acc[LANES] = {0}, s = 0;
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (size_t j = 0; j < LANES; j++) acc[j] += x[i + j];
  for (; i < n; i++) s += x[i];
  for (size_t j = 0; j < LANES; j++) s += acc[j];
  return s;
}

/* Σ a[i]·b[i], each product rounded to float (as a Multiply kernel then a Sum would), summed in double. */
static inline double v_dot(const float *a, const float *b, size_t n) {
  double acc[LANES] = {0}, s = 0;
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (size_t j = 0; j < LANES; j++) acc[j] += a[i + j] * b[i + j];
  for (; i < n; i++) s += a[i] * b[i];
  for (size_t j = 0; j < LANES; j++) s += acc[j];
  return s;
}

/* max x[i], −∞ for n = 0; NaNs are skipped (every comparison with one is false). */
static inline float v_max(const float *x, size_t n) {
  float acc[2 * LANES], m = -INFINITY;
  for (size_t j = 0; j < 2 * LANES; j++) acc[j] = -INFINITY;
  size_t i = 0;
  for (; i + 2 * LANES <= n; i += 2 * LANES)
    for (size_t j = 0; j < 2 * LANES; j++) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  for (size_t j = 0; j < 2 * LANES; j++) m = acc[j] > m ? acc[j] : m;
  return m;
}

/* e^x (Cephes expf: n = round(x/ln2), degree-6 polynomial on the remainder; ~1 ulp).
 * Below -87 the result is exactly 0, so masked attention keys (x − max ≈ −3.4e38) get no weight. */
static inline float v_expf(float x) {
  const float lo = -87.0f, hi = 88.0f, round = 12582912.0f; /* 1.5·2^23: x + round rounds x to an integer */
  float xc = x < lo ? lo : x;
  xc = xc > hi ? hi : xc;
  float n = (xc * 1.44269504088896341f + round) - round;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < lo ? 0.0f : p * scale;
}

/* erf(x) as the rational minimax fit Eigen and XLA use for float (odd degree-13 numerator over
 * even degree-8 denominator on [−4, 4], ±1 beyond): a few ulp. */
static inline float v_erff(float x) {
  float xc = x < -4.0f ? -4.0f : x;
  xc = xc > 4.0f ? 4.0f : xc;
  float x2 = xc * xc;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = xc * p;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

#endif
