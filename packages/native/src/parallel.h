/* Split a range of independent work items over the machine's cores (plain pthreads). */
#ifndef DISTILLERY_PARALLEL_H
#define DISTILLERY_PARALLEL_H

#include <stddef.h>

/* Work on items [begin, end). ctx carries the kernel's arguments. */
typedef void (*range_fn)(void *ctx, size_t begin, size_t end);

/* Threads used by parallel_for: DISTILLERY_NATIVE_THREADS, else the online cores. */
int parallel_threads(void);

/*
 * Run fn over [0, n) in contiguous chunks, one per thread, the caller's thread taking the
 * first. `grain` is the smallest chunk worth a thread: spawning costs ~20 us, so ranges
 * under 2 * grain run inline.
 */
void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx);

#endif
