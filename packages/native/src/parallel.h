/* Split a range of independent work items over the machine's cores (plain pthreads). */
#ifndef DISTILLERY_PARALLEL_H
#define DISTILLERY_PARALLEL_H

#include <stddef.h>

/* Work on items [begin, end). ctx carries the kernel's arguments. */
typedef void (*range_fn)(void *ctx, size_t begin, size_t end);

/* Threads used by parallel_for: DISTILLERY_NATIVE_THREADS, else the online cores. */
int parallel_threads(void);

/*
 * Run fn over [0, n) in contiguous chunks shared by the calling thread and up to
 * parallel_threads() - 1 helpers. `grain` is the smallest chunk worth a thread (starting one
 * costs ~20 us), so ranges under 2 * grain run inline on the caller.
 */
void parallel_for(size_t n, size_t grain, range_fn fn, void *ctx);

#endif
