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
                       {p0->output_count, sizeof(eave_output_state)},
                       {m->step_count, sizeof(eave_step_scratch*)}};
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
  s->step_scratch = carve(&at, m->step_count, sizeof(eave_step_scratch*));

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
  s->on_step = options->on_step;
  s->on_step_user_data = options->on_step_user_data;
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
    eave_list_release(&a, &s->values[v].own);
  }
  for (uint32_t st = 0; st < m->step_count; ++st) {
    eave_step_scratch* sc = s->step_scratch[st];
    if (!sc) continue;
    for (uint32_t i = 0; i < sc->buffer_count; ++i) eave_buffer_release(&a, &sc->buffers[i]);
    for (uint32_t i = 0; i < sc->list_count; ++i) eave_list_release(&a, &sc->lists[i]);
    a.free(a.self, sc);
  }
  for (uint32_t p = 0; p < m->program_count; ++p) a.free(a.self, s->arenas[p].base);
  for (uint32_t i = 0; i < m->programs[0].output_count; ++i) {
    a.free(a.self, s->outputs[i].owned);
    eave_list_release(&a, &s->outputs[i].list);
  }
  /* Bound input lists borrow the caller's tensors (items not owned): this frees the array. */
  for (uint32_t i = 0; i < m->programs[0].input_count; ++i) eave_list_release(&a, &s->inputs[i].list);
  for (int i = 0; i < EAVE_BUILTIN_SCRATCH_BLOCKS; ++i) a.free(a.self, s->builtin_scratch[i]);
  for (int i = 0; i < EAVE_STRING_BLOCKS; ++i) a.free(a.self, s->strings.block[i]);
  eave_model_release(s->model);
  a.free(a.self, s->block);
}

/* Checks a caller's tensor against input `index`'s declared dtype, rank, static dims and
 * symbol bounds. Agreement between inputs that share a symbol is checked at run time. */
static eave_status check_input(const eave_model* m, int32_t index, const eave_tensor* t) {
  const eave_tensor_info* info = &m->inputs[index].info;
  if (info->kind != EAVE_VALUE_TENSOR)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "input '%s' is a sequence or optional: bind it with "
                            "eave_session_bind_input_list",
                            info->name);
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
  if (data && s->model->outputs[index].info.kind != EAVE_VALUE_TENSOR)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "bind_output: output '%s' is a sequence or optional, which the "
                            "session always holds",
                            s->model->outputs[index].info.name);
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
  if (s->model->outputs[index].info.kind != EAVE_VALUE_TENSOR)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "get_output: output '%s' is a sequence or optional: read it with "
                            "eave_session_get_output_list",
                            s->model->outputs[index].info.name);
  const eave_tensor_ref* r = &s->outputs[index].result;
  out->dtype = (eave_dtype)r->dtype;
  out->rank = (int32_t)r->rank;
  out->dims = r->dims;
  out->data = r->data;
  out->byte_size = (size_t)r->bytes;
  return NULL;
}

eave_status eave_session_bind_input_list(eave_session* s, int32_t index, int32_t present,
                                         const eave_tensor* tensors, int32_t count) {
  if (!s || (count && !tensors) || count < 0)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "bind_input_list: bad argument");
  int32_t n = eave_model_input_count(s->model);
  if (index < 0 || index >= n)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "bind_input_list: index %d out of range (the model has %d inputs)",
                            index, n);
  const eave_tensor_info* info = &s->model->inputs[index].info;
  const char* name = info->name;
  switch (info->kind) {
    case EAVE_VALUE_TENSOR:
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                              "input '%s' is a tensor: bind it with eave_session_bind_input",
                              name);
    case EAVE_VALUE_SEQUENCE:
      if (!present)
        return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                                "input '%s' is a sequence, which is always present", name);
      break;
    case EAVE_VALUE_OPTIONAL_TENSOR:
      if (count != (present ? 1 : 0))
        return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                                "input '%s' is an optional tensor: %s, got %d tensors", name,
                                present ? "present takes one tensor" : "empty takes none", count);
      break;
    case EAVE_VALUE_OPTIONAL_SEQUENCE:
      if (!present && count)
        return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                                "input '%s': an empty optional takes no tensors, got %d", name,
                                count);
      break;
  }
  for (int32_t i = 0; i < count; ++i) {
    const eave_tensor* t = &tensors[i];
    if (t->dtype != info->dtype)
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "input '%s' tensor %d is %s, not %s",
                              name, i, eave_dtype_name(t->dtype), eave_dtype_name(info->dtype));
    uint64_t bytes = t->rank >= 0 && t->rank <= (int32_t)EAVE_MAX_RANK && (t->dims || !t->rank)
                         ? eave_tensor_bytes(t->dtype, (uint32_t)t->rank, t->dims)
                         : UINT64_MAX;
    if (bytes == UINT64_MAX)
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                              "input '%s' tensor %d: bad rank or dims", name, i);
    if (t->byte_size < bytes || (!t->data && bytes))
      return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                              "input '%s' tensor %d needs %llu bytes for its shape, got %zu", name,
                              i, (unsigned long long)bytes, t->byte_size);
  }
  eave_bound_input* in = &s->inputs[index];
  eave_list* l = &in->list;
  in->bound = 0;
  EAVE_RETURN_IF_ERROR(eave_list_resize(&s->allocator, l, (uint32_t)count));
  for (int32_t i = 0; i < count; ++i) {
    const eave_tensor* t = &tensors[i];
    eave_buffer* b = &l->items[i];
    b->data = t->data;
    b->rank = (uint32_t)t->rank;
    b->dtype = (uint32_t)t->dtype;
    b->bytes = eave_tensor_bytes(t->dtype, b->rank, t->dims);
    b->capacity = b->bytes;
    b->owned = 0;
    if (t->rank) memcpy(b->dims, t->dims, (size_t)t->rank * sizeof(int64_t));
  }
  l->present = present ? 1 : 0;
  in->ref = (eave_tensor_ref){NULL, 0, NULL, 0, (uint32_t)info->dtype, NULL, l};
  in->bound = 1;
  s->has_results = 0;
  return NULL;
}

static eave_status output_list(eave_session* s, int32_t index, const eave_list** out) {
  if (!s) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "null session");
  int32_t n = eave_model_output_count(s->model);
  if (index < 0 || index >= n)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "output index %d out of range (the model has %d outputs)", index, n);
  if (s->model->outputs[index].info.kind == EAVE_VALUE_TENSOR)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "output '%s' is a tensor: read it with eave_session_get_output",
                            s->model->outputs[index].info.name);
  if (!s->has_results)
    return eave_make_status(EAVE_STATUS_FAILED_PRECONDITION, "no results (run the session first)");
  *out = &s->outputs[index].list;
  return NULL;
}

eave_status eave_session_get_output_list(eave_session* s, int32_t index, int32_t* out_present,
                                         int32_t* out_count) {
  if (!out_present || !out_count)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "get_output_list: null argument");
  const eave_list* l;
  EAVE_RETURN_IF_ERROR(eave_status_annotate(output_list(s, index, &l), "get_output_list: "));
  *out_present = (int32_t)l->present;
  *out_count = (int32_t)l->count;
  return NULL;
}

eave_status eave_session_get_output_item(eave_session* s, int32_t index, int32_t item,
                                         eave_tensor* out) {
  if (!out) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "get_output_item: null argument");
  const eave_list* l;
  EAVE_RETURN_IF_ERROR(eave_status_annotate(output_list(s, index, &l), "get_output_item: "));
  if (item < 0 || (uint32_t)item >= l->count)
    return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT,
                            "get_output_item: item %d out of range (output '%s' holds %u)", item,
                            s->model->outputs[index].info.name, l->count);
  const eave_buffer* b = &l->items[item];
  out->dtype = (eave_dtype)b->dtype;
  out->rank = (int32_t)b->rank;
  out->dims = b->dims;
  out->data = b->data;
  out->byte_size = (size_t)b->bytes;
  return NULL;
}
