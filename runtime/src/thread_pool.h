/* A fixed pool of worker threads with a parallel-for over a range of tiles. Owned by one
 * session; parallel_for is called by the session's thread only (thread-compatible). */
#ifndef EAVE_THREAD_POOL_H_
#define EAVE_THREAD_POOL_H_

#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eave_thread_pool eave_thread_pool;

/* Runs tiles [begin, end) of a parallel_for. */
typedef void (*eave_parallel_fn)(void* ctx, int64_t begin, int64_t end);

/* A pool of `threads` threads counting the caller's (threads - 1 are started). Memory comes
 * from `allocator`, which must be valid (the session fills in the default). */
eave_status eave_thread_pool_create(int32_t threads, const eave_allocator* allocator,
                                    eave_thread_pool** out_pool);
void eave_thread_pool_release(eave_thread_pool* pool);

/* Runs fn over [0, count) in contiguous ranges, on the calling thread and the workers (each
 * range once, any thread, any order); returns when all are done. A NULL pool runs everything
 * inline. */
void eave_thread_pool_parallel_for(eave_thread_pool* pool, int64_t count, eave_parallel_fn fn,
                                   void* ctx);

/* How many threads a parallel_for uses at most (1 for a NULL pool). */
int32_t eave_thread_pool_size(const eave_thread_pool* pool);

/* The number of online CPUs, at least 1. */
int32_t eave_cpu_count(void);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_THREAD_POOL_H_ */
