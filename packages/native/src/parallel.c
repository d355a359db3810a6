/* parallel_for over short-lived detached pthreads that take chunks from a shared counter.
 * The calling thread works too and waits only for chunks already started, never for a helper
 * the OS has not scheduled yet: on a busy machine a kernel degrades to serial speed instead of
 * stalling behind a runnable-but-waiting thread. No pool, so no thread spins between kernels
 * competing with OpenBLAS's own workers. */
#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 64
#define CHUNKS_PER_THREAD 4 /* a few chunks each, so a late or slow thread costs little */

int parallel_threads(void) {
  static int threads = 0;
  if (threads == 0) {
    const char *env = getenv("DISTILLERY_NATIVE_THREADS");
    long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    threads = n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
  }
  return threads;
}

/* Shared by the caller and its helpers; freed by whichever of them lets go last. */
typedef struct {
  range_fn fn;
  void *ctx; /* lives on the caller's stack: touched only by chunks the caller waits for */
  size_t n, chunk;
  atomic_size_t next; /* next chunk index to take */
  atomic_size_t done; /* items finished */
  atomic_int refs;
  pthread_mutex_t mu;
  pthread_cond_t finished;
} job_t;

static void release(job_t *j) {
  if (atomic_fetch_sub(&j->refs, 1) != 1) return;
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->finished);
  free(j);
}

static void run_chunks(job_t *j) {
  for (;;) {
    size_t begin = atomic_fetch_add(&j->next, 1) * j->chunk;
    if (begin >= j->n) return;
    size_t end = begin + j->chunk < j->n ? begin + j->chunk : j->n;
    j->fn(j->ctx, begin, end);
    if (atomic_fetch_add(&j->done, end - begin) + (end - begin) == j->n) {
      pthread_mutex_lock(&j->mu);
      pthread_cond_signal(&j->finished);
      pthread_mutex_unlock(&j->mu);
    }
  }
}

static void *helper(void *arg) {
  run_chunks((job_t *)arg);
  release((job_t *)arg);
  return NULL;
}

void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx) {
  if (n == 0) return;
  size_t threads = (size_t)parallel_threads();
  size_t want = grain ? n / grain : n;
  if (want < threads) threads = want;
  job_t *j = threads > 1 ? malloc(sizeof *j) : NULL;
  if (!j) {
    fn(ctx, 0, n);
    return;
  }
  size_t chunks = threads * CHUNKS_PER_THREAD;
  j->fn = fn;
  j->ctx = ctx;
  j->n = n;
  j->chunk = (n + chunks - 1) / chunks;
  if (grain && j->chunk < grain) j->chunk = grain;
  atomic_init(&j->next, 0);
  atomic_init(&j->done, 0);
  atomic_init(&j->refs, (int)threads);
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->finished, NULL);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (size_t t = 1; t < threads; t++) {
    pthread_t id;
    // A helper that fails to start just leaves its share to the others.
    if (pthread_create(&id, &attr, helper, j) != 0) release(j);
  }
  pthread_attr_destroy(&attr);
  run_chunks(j);
  pthread_mutex_lock(&j->mu);
  while (atomic_load(&j->done) < n) pthread_cond_wait(&j->finished, &j->mu);
  pthread_mutex_unlock(&j->mu);
  release(j);
}
