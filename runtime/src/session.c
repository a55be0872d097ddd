/* Session creation, binding, results and release. Running is in executor.c. */
#include "session.h"

#include <stdio.h>
#include <string.h>

void eave_session_options_initialize(eave_session_options* options) {
  memset(options, 0, sizeof *options);
  options->threads = 1;
}

eave_status eave_session_reserve(eave_session* s, void** ptr, uint64_t* capacity, uint64_t bytes,
                                 const char* what) {
  if (bytes <= *capacity && *ptr) return NULL;
  if (bytes > SIZE_MAX - 64)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "%s needs %llu bytes", what,
                            (unsigned long long)bytes);
  /* At least one cache line, so empty tensors get a real pointer. */
  uint64_t want = bytes < 64 ? 64 : bytes;
  void* p = s->allocator.alloc(s->allocator.self, (size_t)want, 64);
  if (!p)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory: %s needs %llu bytes", what,
                            (unsigned long long)bytes);
  s->allocator.free(s->allocator.self, *ptr);
  *ptr = p;
  *capacity = want;
  return NULL;
}

/* Carves `count` entries of `size` bytes from the session block, 8-aligned. */
static void* carve(uint8_t** at, size_t count, size_t size) {
  void* p = *at;
  *at += (count * size + 7) & ~(size_t)7;
  return p;
}

eave_status eave_session_create(eave_model* model, const eave_session_options* options,
                                eave_session** out_session) {
  if (!model || !out_session)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_session_create: null argument");
  if (model->inspect_only)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "eave_session_create: the model was loaded for inspection only");
  *out_session = NULL;
  eave_session_options defaults;
  if (!options) {
    eave_session_options_initialize(&defaults);
    options = &defaults;
  }
  if (options->threads < 0 || options->threads > 1024)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "threads = %d; expected 0 to 1024",
                            options->threads);
  eave_allocator a;
  eave_allocator_or_default(&options->allocator, &a);
  const eave_model* m = model;
  const eave_program* p0 = &m->programs[0];

  /* Sizes of every per-session table, then one allocation. */
  size_t sizes[][2] = {{m->symbol_count, sizeof(int64_t)},
                       {m->symbol_count, 1},
                       {m->dim_count, sizeof(int64_t)},
                       {m->value_count, sizeof(eave_value_state)},
                       {m->value_count, sizeof(uint64_t)},
                       {m->value_count, sizeof(uint64_t)},
                       {m->program_count, sizeof(eave_arena_state)},
                       {m->max_arena_values, sizeof(eave_plan_item)},
                       {2 * (size_t)m->max_arena_values, sizeof(uint32_t)},
                       {m->list_count, sizeof(eave_tensor_ref)},
                       {m->max_operands, sizeof(void*)},
                       {p0->input_count, sizeof(eave_bound_input)},
                       {p0->output_count, sizeof(eave_output_state)}};
  size_t total = sizeof(eave_session);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i)
    total += (sizes[i][0] * sizes[i][1] + 7) & ~(size_t)7;
  uint8_t* block = a.alloc(a.self, total, 64);
  if (!block)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY,
                            "out of memory creating a session (%zu bytes)", total);
  memset(block, 0, total);
  eave_session* s = (eave_session*)block;
  uint8_t* at = block + ((sizeof *s + 7) & ~(size_t)7);
  s->block = block;
  s->allocator = a;
  s->syms = carve(&at, m->symbol_count, sizeof(int64_t));
  s->defined = carve(&at, m->symbol_count, 1);
  s->dims = carve(&at, m->dim_count, sizeof(int64_t));
  s->values = carve(&at, m->value_count, sizeof(eave_value_state));
  s->plan_offset = carve(&at, m->value_count, sizeof(uint64_t));
  s->plan_size = carve(&at, m->value_count, sizeof(uint64_t));
  s->arenas = carve(&at, m->program_count, sizeof(eave_arena_state));
  s->plan_items = carve(&at, m->max_arena_values, sizeof(eave_plan_item));
  s->plan_scratch = carve(&at, 2 * (size_t)m->max_arena_values, sizeof(uint32_t));
  s->refs = carve(&at, m->list_count, sizeof(eave_tensor_ref));
  s->buffers = carve(&at, m->max_operands, sizeof(void*));
  s->inputs = carve(&at, p0->input_count, sizeof(eave_bound_input));
  s->outputs = carve(&at, p0->output_count, sizeof(eave_output_state));

  /* The compiler's plan, and the weights, which never move. */
  for (uint32_t p = 0; p < m->program_count; ++p) s->arenas[p].planned = m->programs[p].arena_size;
  memcpy(s->dims, m->dims, m->dim_count * sizeof(int64_t));
  for (uint32_t v = 0; v < m->value_count; ++v) {
    const eave_value* val = &m->values[v];
    s->plan_offset[v] = val->offset;
    s->plan_size[v] = val->size;
    if (val->storage == EAVE_STORAGE_WEIGHT) {
      s->values[v].data = (void*)(m->weights + val->offset); /* kernels never write weights */
      s->values[v].bytes = val->size;
      s->values[v].ready = 1;
    }
  }
  int32_t threads = options->threads ? options->threads : eave_cpu_count();
  eave_status st = eave_thread_pool_create(threads, &s->allocator, &s->pool);
  if (st) {
    a.free(a.self, block);
    return st;
  }
  eave_model_retain(model);
  s->model = model;
  *out_session = s;
  return NULL;
}

void eave_session_release(eave_session* s) {
  if (!s) return;
  eave_thread_pool_release(s->pool);
  const eave_model* m = s->model;
  eave_allocator a = s->allocator;
  for (uint32_t v = 0; v < m->value_count; ++v) {
    a.free(a.self, s->values[v].heap);
    a.free(a.self, s->values[v].scratch);
  }
  for (uint32_t p = 0; p < m->program_count; ++p) a.free(a.self, s->arenas[p].base);
  for (uint32_t i = 0; i < m->programs[0].output_count; ++i) a.free(a.self, s->outputs[i].owned);
  for (int i = 0; i < EAVE_BUILTIN_SCRATCH_BLOCKS; ++i) a.free(a.self, s->builtin_scratch[i]);
  eave_model_release(s->model);
  a.free(a.self, s->block);
}

/* Checks a caller's tensor against input `index`'s declared dtype, rank, static dims and
 * symbol bounds. Agreement between inputs that share a symbol is checked at run time. */
static eave_status check_input(const eave_model* m, int32_t index, const eave_tensor* t) {
  const eave_tensor_info* info = &m->inputs[index].info;
  if (t->dtype != info->dtype)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "input '%s' is %s, got %s", info->name,
                            eave_dtype_name(info->dtype), eave_dtype_name(t->dtype));
  if (t->rank != info->rank || (t->rank && !t->dims))
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "input '%s' has rank %d, got rank %d",
                            info->name, info->rank, t->rank);
  uint64_t bytes = eave_dtype_size(t->dtype);
  for (int32_t a = 0; a < t->rank; ++a) {
    int64_t d = t->dims[a];
    if (info->dims[a] >= 0 && d != info->dims[a])
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "input '%s' axis %d is %lld, got %lld",
                              info->name, a, (long long)info->dims[a], (long long)d);
    if (d < info->dim_min[a] || (info->dim_max[a] != -1 && d > info->dim_max[a]) || d < 0) {
      char max[24] = "inf";
      if (info->dim_max[a] != -1) snprintf(max, sizeof max, "%lld", (long long)info->dim_max[a]);
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                              "input '%s' axis %d is %lld, outside the bounds [%lld, %s] of "
                              "symbol '%s'",
                              info->name, a, (long long)d, (long long)info->dim_min[a], max,
                              info->dim_symbols[a]);
    }
    if (d && bytes > UINT64_MAX / (uint64_t)d)
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "input '%s' is too large", info->name);
    bytes *= (uint64_t)d;
  }
  if (t->byte_size < bytes || (!t->data && bytes))
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "input '%s' needs %llu bytes for its shape, got %zu", info->name,
                            (unsigned long long)bytes, t->byte_size);
  return NULL;
}

eave_status eave_session_bind_input(eave_session* s, int32_t index, const eave_tensor* t) {
  if (!s || !t) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "bind_input: null argument");
  int32_t n = eave_model_input_count(s->model);
  if (index < 0 || index >= n)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "bind_input: index %d out of range (the model has %d inputs)", index,
                            n);
  EAVE_RETURN_IF_ERROR(check_input(s->model, index, t));
  eave_bound_input* in = &s->inputs[index];
  in->bound = 1;
  if (t->rank) memcpy(in->dims, t->dims, (size_t)t->rank * sizeof(int64_t));
  in->ref.data = t->data;
  in->ref.bytes = t->byte_size;
  in->ref.dims = in->dims;
  in->ref.rank = (uint32_t)t->rank;
  in->ref.dtype = (uint32_t)t->dtype;
  s->has_results = 0;
  return NULL;
}

eave_status eave_session_bind_output(eave_session* s, int32_t index, void* data, size_t capacity) {
  if (!s) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "bind_output: null session");
  int32_t n = eave_model_output_count(s->model);
  if (index < 0 || index >= n)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "bind_output: index %d out of range (the model has %d outputs)", index,
                            n);
  s->outputs[index].bound = data;
  s->outputs[index].bound_capacity = data ? capacity : 0;
  s->has_results = 0;
  return NULL;
}

eave_status eave_session_get_output(eave_session* s, int32_t index, eave_tensor* out) {
  if (!s || !out)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "get_output: null argument");
  int32_t n = eave_model_output_count(s->model);
  if (index < 0 || index >= n)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "get_output: index %d out of range (the model has %d outputs)", index,
                            n);
  if (!s->has_results)
    return eave_make_status(EAVE_STATUS_FAILED_PRECONDITION,
                            "get_output: no results (run the session first)");
  const eave_tensor_ref* r = &s->outputs[index].result;
  out->dtype = (eave_dtype)r->dtype;
  out->rank = (int32_t)r->rank;
  out->dims = r->dims;
  out->data = r->data;
  out->byte_size = (size_t)r->bytes;
  return NULL;
}
