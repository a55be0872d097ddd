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

#if EAVE_HAVE_PTHREADS

#include <stdatomic.h>

typedef struct worker {
  struct eave_thread_pool* pool;
  pthread_t thread;
} worker;

/* A parallel_for hands out its tiles in grains from an atomic cursor: the caller starts at
 * once, a worker that wakes late (or is descheduled) takes fewer grains, and nobody waits for
 * a fixed share. A job is open from the call until the caller has run out of grains; workers
 * join it only while it is open, and the caller returns once those that joined have left, so
 * no worker touches a job (its fn and ctx) after parallel_for returns. Between jobs a worker
 * spins briefly before it sleeps: kernels come back to back, and waking a sleeping thread
 * costs tens of microseconds. */
struct eave_thread_pool {
  eave_allocator allocator;
  int32_t threads;
  int32_t started;
  pthread_mutex_t mutex;
  pthread_cond_t work; /* a new generation or stop */
  pthread_cond_t done; /* active reached 0 */
  atomic_uint_fast64_t generation;
  int stop;
  /* The current job, written under the mutex before generation moves. */
  int open;
  atomic_int active; /* workers inside the job (changed under the mutex) */
  eave_parallel_fn fn;
  void* ctx;
  int64_t count, grain;
  atomic_int_fast64_t next; /* the first tile not handed out */
  worker workers[];
};

/* Runs grains of the job until none is left. */
static void run_grains(eave_thread_pool* p, eave_parallel_fn fn, void* ctx, int64_t count,
                       int64_t grain) {
  for (;;) {
    int64_t b = atomic_fetch_add_explicit(&p->next, grain, memory_order_relaxed);
    if (b >= count) return;
    fn(ctx, b, count - b < grain ? count : b + grain);
  }
}

/* Tells the CPU this is a spin loop (lets the other hyperthread run). */
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Polls of the generation before a worker sleeps: some 50 to 200 microseconds. */
#define EAVE_SPIN_POLLS 2000

static void* worker_main(void* arg) {
  worker* w = arg;
  eave_thread_pool* p = w->pool;
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < EAVE_SPIN_POLLS &&
                    atomic_load_explicit(&p->generation, memory_order_acquire) == seen;
         ++i)
      cpu_relax();
    pthread_mutex_lock(&p->mutex);
    while (atomic_load_explicit(&p->generation, memory_order_relaxed) == seen && !p->stop)
      pthread_cond_wait(&p->work, &p->mutex);
    if (p->stop) break;
    seen = atomic_load_explicit(&p->generation, memory_order_relaxed);
    if (!p->open) {
      pthread_mutex_unlock(&p->mutex);
      continue;
    }
    atomic_fetch_add_explicit(&p->active, 1, memory_order_relaxed);
    eave_parallel_fn fn = p->fn;
    void* ctx = p->ctx;
    int64_t count = p->count, grain = p->grain;
    pthread_mutex_unlock(&p->mutex);
    run_grains(p, fn, ctx, count, grain);
    pthread_mutex_lock(&p->mutex);
    if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_release) == 1)
      pthread_cond_signal(&p->done);
    pthread_mutex_unlock(&p->mutex);
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
  atomic_init(&p->generation, 0);
  atomic_init(&p->next, 0);
  atomic_init(&p->active, 0);
  pthread_mutex_init(&p->mutex, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  for (int32_t i = 1; i < threads; ++i) {
    p->workers[i].pool = p;
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
  /* About four grains per thread: enough to even out, few enough to keep tiles together. */
  int64_t grain = count / ((int64_t)p->threads * 4);
  if (grain < 1) grain = 1;
  pthread_mutex_lock(&p->mutex);
  p->fn = fn;
  p->ctx = ctx;
  p->count = count;
  p->grain = grain;
  atomic_store_explicit(&p->next, 0, memory_order_relaxed);
  p->open = 1;
  atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mutex);
  run_grains(p, fn, ctx, count, grain);
  pthread_mutex_lock(&p->mutex);
  p->open = 0; /* no worker joins from here on */
  pthread_mutex_unlock(&p->mutex);
  /* The workers still inside run their last grain: poll a while rather than sleep at once. */
  for (int i = 0; i < EAVE_SPIN_POLLS && atomic_load_explicit(&p->active, memory_order_acquire);
       ++i)
    cpu_relax();
  pthread_mutex_lock(&p->mutex);
  while (atomic_load_explicit(&p->active, memory_order_acquire) > 0)
    pthread_cond_wait(&p->done, &p->mutex);
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
