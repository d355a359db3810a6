/* A fork-join parallel_for over pthreads: no pool, so no thread spins between kernels and
 * competes with OpenBLAS's own workers. */
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64

int parallel_threads(void) {
  static int threads = 0;
  if (threads == 0) {
    const char *env = getenv("DISTILLERY_NATIVE_THREADS");
    long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    threads = n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
  }
  return threads;
}

typedef struct {
  range_fn fn;
  void *ctx;
  size_t begin, end;
} chunk_t;

static void *run_chunk(void *arg) {
  chunk_t *c = (chunk_t *)arg;
  c->fn(c->ctx, c->begin, c->end);
  return NULL;
}

void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx) {
  if (n == 0) return;
  size_t want = grain ? n / grain : n;
  size_t threads = (size_t)parallel_threads();
  if (want < threads) threads = want;
  if (threads <= 1) {
    fn(ctx, 0, n);
    return;
  }
  chunk_t chunks[MAX_THREADS];
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  size_t step = (n + threads - 1) / threads;
  for (size_t t = 0; t < threads; t++) {
    chunks[t].fn = fn;
    chunks[t].ctx = ctx;
    chunks[t].begin = t * step < n ? t * step : n;
    chunks[t].end = (t + 1) * step < n ? (t + 1) * step : n;
  }
  // A thread that fails to start leaves its chunk to the caller: slower, never wrong.
  for (size_t t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, run_chunk, &chunks[t]) == 0;
  run_chunk(&chunks[0]);
  for (size_t t = 1; t < threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else run_chunk(&chunks[t]);
  }
}
