#include "thread_pool.h"

#include <string.h>

#if defined(__unix__)
#include <pthread.h>
#include <unistd.h>
#define EAVE_HAVE_PTHREADS 1
#endif

int32_t eave_cpu_count(void) {
#if EAVE_HAVE_PTHREADS
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int32_t)(n < 4096 ? n : 4096) : 1;
#else
  return 1;
#endif
}

static void chunk_bounds(int64_t count, int64_t chunks, int64_t i, int64_t* b, int64_t* e) {
  /* count * i can overflow only for counts near 2^63 / threads: split by quotient instead. */
  int64_t q = count / chunks, r = count % chunks;
  *b = i * q + (i < r ? i : r);
  *e = *b + q + (i < r ? 1 : 0);
}

#if EAVE_HAVE_PTHREADS

typedef struct worker {
  struct eave_thread_pool* pool;
  int32_t index; /* 1..threads-1; chunk 0 is the caller's */
  pthread_t thread;
} worker;

struct eave_thread_pool {
  eave_allocator allocator;
  int32_t threads;
  int32_t started;
  pthread_mutex_t mutex;
  pthread_cond_t work; /* a new generation or stop */
  pthread_cond_t done; /* pending reached 0 */
  uint64_t generation;
  int stop;
  /* The current job, written under the mutex before generation moves. */
  eave_parallel_fn fn;
  void* ctx;
  int64_t count;
  int64_t chunks;
  int64_t pending;
  worker workers[];
};

static void* worker_main(void* arg) {
  worker* w = arg;
  eave_thread_pool* p = w->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mutex);
  for (;;) {
    while (p->generation == seen && !p->stop) pthread_cond_wait(&p->work, &p->mutex);
    if (p->stop) break;
    seen = p->generation;
    if (w->index >= p->chunks) continue; /* nothing for this thread in this job */
    eave_parallel_fn fn = p->fn;
    void* ctx = p->ctx;
    int64_t b, e;
    chunk_bounds(p->count, p->chunks, w->index, &b, &e);
    pthread_mutex_unlock(&p->mutex);
    fn(ctx, b, e);
    pthread_mutex_lock(&p->mutex);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mutex);
  return NULL;
}

eave_status eave_thread_pool_create(int32_t threads, const eave_allocator* allocator,
                                    eave_thread_pool** out_pool) {
  *out_pool = NULL;
  if (threads <= 1) return NULL; /* NULL pool: everything runs inline */
  size_t bytes = sizeof(eave_thread_pool) + (size_t)threads * sizeof(worker);
  eave_thread_pool* p = allocator->alloc(allocator->self, bytes, 64);
  if (!p)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory for a %d-thread pool",
                            threads);
  memset(p, 0, bytes);
  p->allocator = *allocator;
  p->threads = threads;
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int32_t i = 1; i < threads; ++i) {
    p->workers[i].pool = p;
    p->workers[i].index = i;
    if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
      eave_thread_pool_release(p);
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "cannot start thread %d of %d", i,
                              threads);
    }
    p->started = i;
  }
  *out_pool = p;
  return NULL;
}

void eave_thread_pool_release(eave_thread_pool* p) {
  if (!p) return;
  pthread_mutex_lock(&p->mutex);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mutex);
  for (int32_t i = 1; i <= p->started; ++i) pthread_join(p->workers[i].thread, NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->work);
  pthread_mutex_destroy(&p->mutex);
  p->allocator.free(p->allocator.self, p);
}

int32_t eave_thread_pool_size(const eave_thread_pool* p) { return p ? p->threads : 1; }

void eave_thread_pool_parallel_for(eave_thread_pool* p, int64_t count, eave_parallel_fn fn,
                                   void* ctx) {
  if (count <= 0) return;
  if (!p || count == 1) {
    fn(ctx, 0, count);
    return;
  }
  int64_t chunks = count < p->threads ? count : p->threads;
  pthread_mutex_lock(&p->mutex);
  p->fn = fn;
  p->ctx = ctx;
  p->count = count;
  p->chunks = chunks;
  p->pending = chunks - 1;
  ++p->generation;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mutex);
  int64_t b, e;
  chunk_bounds(count, chunks, 0, &b, &e);
  fn(ctx, b, e);
  pthread_mutex_lock(&p->mutex);
  while (p->pending > 0) pthread_cond_wait(&p->done, &p->mutex);
  pthread_mutex_unlock(&p->mutex);
}

#else /* no threads: a pool is never created */

eave_status eave_thread_pool_create(int32_t threads, const eave_allocator* allocator,
                                    eave_thread_pool** out_pool) {
  *out_pool = NULL;
  return NULL;
}
void eave_thread_pool_release(eave_thread_pool* p) {}
int32_t eave_thread_pool_size(const eave_thread_pool* p) { return 1; }
void eave_thread_pool_parallel_for(eave_thread_pool* p, int64_t count, eave_parallel_fn fn,
                                   void* ctx) {
  if (count > 0) fn(ctx, 0, count);
}
#endif
