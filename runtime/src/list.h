/* Tensors that carry their own shape, and lists of them: the session's representation of
 * sequence and optional values, of loop-carried state and of stacked scan outputs.
 *
 * Memory is kept for reuse: a buffer only grows, and a list that shrinks keeps the items past
 * its count (with their buffers) for the next time it grows, so code that rebuilds lists of
 * the same shapes run after run allocates nothing. Internal to the runtime. */
#ifndef EAVE_LIST_H_
#define EAVE_LIST_H_

#include <stdint.h>

#include "artifact_format.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eave_buffer {
  void* data;
  uint64_t bytes;    /* the tensor's bytes: its element count times the dtype size */
  uint64_t capacity; /* bytes available at data */
  uint32_t dtype;    /* eave_dtype */
  uint32_t rank;
  uint8_t owned; /* 1: data is allocator memory the buffer frees and may replace when it
                    grows; 0: borrowed memory of fixed capacity */
  int64_t dims[EAVE_MAX_RANK];
} eave_buffer;

typedef struct eave_list {
  uint32_t present;  /* 0: an empty optional (count is then 0) */
  uint32_t count;    /* tensors held: items[0, count) */
  uint32_t capacity; /* items allocated; those past count keep their buffers for reuse */
  eave_buffer* items;
} eave_list;

/* Bytes of a dense tensor, or UINT64_MAX if a dim is negative or the product overflows. */
uint64_t eave_tensor_bytes(eave_dtype dtype, uint32_t rank, const int64_t* dims);

/* Makes room for `bytes` at b->data; contents are not kept when it has to grow. A borrowed
 * buffer that is too small is a run error naming `what`. */
eave_status eave_buffer_reserve(const eave_allocator* a, eave_buffer* b, uint64_t bytes,
                                const char* what);
/* Like reserve, but keeps the first b->bytes bytes, growing geometrically (appending). */
eave_status eave_buffer_grow(const eave_allocator* a, eave_buffer* b, uint64_t bytes,
                             const char* what);
/* Gives b the dtype and shape, sized to hold them; copies `data` (b->bytes bytes) unless it
 * is NULL. */
eave_status eave_buffer_set(const eave_allocator* a, eave_buffer* b, eave_dtype dtype,
                            uint32_t rank, const int64_t* dims, const void* data);
void eave_buffer_release(const eave_allocator* a, eave_buffer* b);

/* Sets l->count, allocating items (owned, empty) when it grows past the capacity. */
eave_status eave_list_resize(const eave_allocator* a, eave_list* l, uint32_t count);
/* dst = a deep copy of src (which must not be dst). */
eave_status eave_list_assign(const eave_allocator* a, eave_list* dst, const eave_list* src);
/* Moves item `from` to position `to` (shifting those between), keeping every buffer. */
void eave_list_move_item(eave_list* l, uint32_t from, uint32_t to);
void eave_list_swap(eave_list* x, eave_list* y);
/* Frees the list's owned buffers and its items. */
void eave_list_release(const eave_allocator* a, eave_list* l);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_LIST_H_ */
