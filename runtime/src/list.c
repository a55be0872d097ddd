#include "list.h"

#include <string.h>

uint64_t eave_tensor_bytes(eave_dtype dtype, uint32_t rank, const int64_t* dims) {
  uint64_t bytes = eave_dtype_size(dtype);
  for (uint32_t a = 0; a < rank; ++a) {
    if (dims[a] < 0) return UINT64_MAX;
    uint64_t d = (uint64_t)dims[a];
    if (d && bytes > (UINT64_MAX >> 2) / d) return UINT64_MAX;
    bytes *= d;
  }
  return bytes;
}

static eave_status allocate(const eave_allocator* a, uint64_t bytes, const char* what,
                            void** out) {
  if (bytes > SIZE_MAX - 64)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "%s needs %llu bytes", what,
                            (unsigned long long)bytes);
  /* At least one cache line, so empty tensors get a real pointer. */
  *out = a->alloc(a->self, (size_t)(bytes < 64 ? 64 : bytes), 64);
  if (!*out)
    return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory: %s needs %llu bytes", what,
                            (unsigned long long)bytes);
  return NULL;
}

static eave_status resize(const eave_allocator* a, eave_buffer* b, uint64_t bytes, uint64_t want,
                          int keep, const char* what) {
  if (b->data && bytes <= b->capacity) return NULL;
  if (!b->owned && b->data)
    return EAVE_RUN_ERROR("%s needs %llu bytes, but its buffer holds %llu", what,
                          (unsigned long long)bytes, (unsigned long long)b->capacity);
  void* p;
  EAVE_RETURN_IF_ERROR(allocate(a, want, what, &p));
  if (keep && b->data && b->bytes) memcpy(p, b->data, (size_t)b->bytes);
  if (b->owned) a->free(a->self, b->data);
  b->data = p;
  b->capacity = want < 64 ? 64 : want;
  b->owned = 1;
  return NULL;
}

eave_status eave_buffer_reserve(const eave_allocator* a, eave_buffer* b, uint64_t bytes,
                                const char* what) {
  return resize(a, b, bytes, bytes, 0, what);
}

eave_status eave_buffer_grow(const eave_allocator* a, eave_buffer* b, uint64_t bytes,
                             const char* what) {
  uint64_t want = b->capacity > UINT64_MAX / 4 ? bytes : 2 * b->capacity;
  return resize(a, b, bytes, want > bytes ? want : bytes, 1, what);
}

eave_status eave_buffer_set(const eave_allocator* a, eave_buffer* b, eave_dtype dtype,
                            uint32_t rank, const int64_t* dims, const void* data) {
  uint64_t bytes = eave_tensor_bytes(dtype, rank, dims);
  if (rank > EAVE_MAX_RANK || bytes == UINT64_MAX)
    return EAVE_RUN_ERROR("a tensor of rank %u is too large or has a negative dim", rank);
  EAVE_RETURN_IF_ERROR(eave_buffer_reserve(a, b, bytes, "a tensor"));
  b->dtype = dtype;
  b->rank = rank;
  if (rank) memmove(b->dims, dims, rank * sizeof(int64_t));
  b->bytes = bytes;
  if (data && bytes && data != b->data) memmove(b->data, data, (size_t)bytes);
  return NULL;
}

void eave_buffer_release(const eave_allocator* a, eave_buffer* b) {
  if (b->owned) a->free(a->self, b->data);
  memset(b, 0, sizeof *b);
}

eave_status eave_list_resize(const eave_allocator* a, eave_list* l, uint32_t count) {
  if (count > l->capacity) {
    uint32_t want = l->capacity > UINT32_MAX / 2 ? count : 2 * l->capacity;
    if (want < count) want = count;
    if (want < 4) want = 4;
    if ((uint64_t)want * sizeof(eave_buffer) > SIZE_MAX / 2)
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "a list of %u tensors is too long",
                              count);
    eave_buffer* items = a->alloc(a->self, (size_t)want * sizeof(eave_buffer), 64);
    if (!items)
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory: a list of %u tensors",
                              count);
    if (l->capacity) memcpy(items, l->items, (size_t)l->capacity * sizeof(eave_buffer));
    memset(items + l->capacity, 0, (size_t)(want - l->capacity) * sizeof(eave_buffer));
    for (uint32_t i = l->capacity; i < want; ++i) items[i].owned = 1;
    a->free(a->self, l->items);
    l->items = items;
    l->capacity = want;
  }
  l->count = count;
  return NULL;
}

eave_status eave_list_assign(const eave_allocator* a, eave_list* dst, const eave_list* src) {
  EAVE_RETURN_IF_ERROR(eave_list_resize(a, dst, src->count));
  dst->present = src->present;
  for (uint32_t i = 0; i < src->count; ++i) {
    const eave_buffer* s = &src->items[i];
    EAVE_RETURN_IF_ERROR(
        eave_buffer_set(a, &dst->items[i], (eave_dtype)s->dtype, s->rank, s->dims, s->data));
  }
  return NULL;
}

void eave_list_move_item(eave_list* l, uint32_t from, uint32_t to) {
  if (from == to) return;
  eave_buffer moving = l->items[from];
  if (from < to)
    memmove(&l->items[from], &l->items[from + 1], (size_t)(to - from) * sizeof(eave_buffer));
  else
    memmove(&l->items[to + 1], &l->items[to], (size_t)(from - to) * sizeof(eave_buffer));
  l->items[to] = moving;
}

void eave_list_swap(eave_list* x, eave_list* y) {
  eave_list t = *x;
  *x = *y;
  *y = t;
}

void eave_list_release(const eave_allocator* a, eave_list* l) {
  for (uint32_t i = 0; i < l->capacity; ++i) eave_buffer_release(a, &l->items[i]);
  a->free(a->self, l->items);
  memset(l, 0, sizeof *l);
}
