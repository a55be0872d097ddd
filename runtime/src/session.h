/* The session: per-run state of a model. Internal to the runtime; session.c creates and binds,
 * executor.c runs. */
#ifndef EAVE_SESSION_H_
#define EAVE_SESSION_H_

#include "list.h"
#include "model.h"
#include "planner.h"
#include "thread_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How many scratch blocks one builtin call may hold at once. */
#define EAVE_BUILTIN_SCRATCH_BLOCKS 8

/* The text of the strings a run makes (EAVE_DTYPE_STRING elements point into it): blocks of
 * doubling size, kept across runs and emptied when a run starts. */
#define EAVE_STRING_BLOCKS 40
typedef struct eave_string_pool {
  void* block[EAVE_STRING_BLOCKS];
  uint64_t capacity[EAVE_STRING_BLOCKS];
  uint32_t current; /* the block being filled */
  uint64_t used;    /* bytes of it in use */
} eave_string_pool;

/* Where a value is this run. */
typedef struct eave_value_state {
  void* data;
  uint64_t bytes;
  uint8_t ready; /* placed and dims evaluated (reset when its program starts) */
  void* heap;    /* HEAP storage: a block kept across runs, grown when too small */
  uint64_t heap_capacity;
  eave_list* list; /* list values: HEAP -> own, INPUT/OUTPUT -> the slot's list */
  eave_list own;
} eave_value_state;

/* What a program input or output slot is bound to (one per LISTS entry).
 * - Tensor inputs: data, bytes, dims, rank, dtype of what is passed.
 * - Program 0 tensor outputs: data/bytes the caller's buffer, data NULL for session-owned.
 * - Nested program tensor outputs: `out`, which the program writes (growing it if it is
 *   owned) and where it leaves the shape it produced.
 * - List inputs and outputs: `list` (inputs only read it); dtype is the element dtype. */
typedef struct eave_tensor_ref {
  void* data;
  uint64_t bytes; /* inputs: bytes there are; outputs: capacity */
  const int64_t* dims;
  uint32_t rank;
  uint32_t dtype;
  eave_buffer* out;
  eave_list* list;
} eave_tensor_ref;

typedef struct eave_bound_input {
  int bound;
  int64_t dims[EAVE_MAX_RANK];
  eave_tensor_ref ref;
  eave_list list; /* list inputs: the caller's tensors, borrowed (items not owned) */
} eave_bound_input;

typedef struct eave_output_state {
  void* bound; /* the caller's buffer, or NULL */
  uint64_t bound_capacity;
  void* owned; /* session memory when not bound; grown, kept across runs */
  uint64_t owned_capacity;
  eave_tensor_ref result; /* after a successful run */
  eave_list list;         /* list outputs: session-owned, kept across runs */
} eave_output_state;

/* Memory a control-flow step keeps across runs: loop state, stacked outputs, slices. */
typedef struct eave_step_scratch {
  uint32_t buffer_count, list_count;
  eave_buffer* buffers;
  eave_list* lists;
} eave_step_scratch;

typedef struct eave_arena_state {
  uint8_t* base;
  uint64_t capacity; /* bytes allocated */
  uint64_t planned;  /* bytes the current plan needs */
} eave_arena_state;

struct eave_session {
  eave_model* model;
  eave_allocator allocator;
  eave_thread_pool* pool;
  void* block; /* everything below comes from this one allocation */
  int64_t* syms;
  uint8_t* defined;
  int64_t* dims; /* evaluated dims, parallel to the model's DIMS table */
  eave_value_state* values;
  uint64_t* plan_offset; /* per value: the arena plan in use */
  uint64_t* plan_size;
  eave_arena_state* arenas; /* per program */
  eave_plan_item* plan_items;
  uint32_t* plan_scratch;
  eave_tensor_ref* refs; /* per LISTS entry */
  void** buffers;        /* a kernel step's operand pointers */
  eave_bound_input* inputs;
  eave_output_state* outputs;
  eave_step_scratch** step_scratch; /* per step, made when a control-flow step first runs */
  int has_results;
  /* Builtin scratch blocks (eave_builtin_scratch): kept across steps and runs, grown. */
  void* builtin_scratch[EAVE_BUILTIN_SCRATCH_BLOCKS];
  uint64_t builtin_scratch_capacity[EAVE_BUILTIN_SCRATCH_BLOCKS];
  eave_string_pool strings;
  eave_step_callback on_step; /* profiling hook, NULL when off */
  void* on_step_user_data;
};

/* Allocates through the session allocator; a status naming `what` on failure. `*ptr` and
 * `*capacity` are updated only when the block had to grow (the old one is freed). */
eave_status eave_session_reserve(eave_session* s, void** ptr, uint64_t* capacity, uint64_t bytes,
                                 const char* what);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_SESSION_H_ */
