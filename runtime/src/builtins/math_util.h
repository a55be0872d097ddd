/* Shared by the math builtins (elementwise, reduction, normalization, loss, quantize): the
 * builtin ids as C constants, an index iterator for broadcasting and for walking the groups of
 * a reduction, and small helpers for axes, shapes and messages. Nothing here allocates. */
#ifndef EAVE_BUILTIN_MATH_UTIL_H_
#define EAVE_BUILTIN_MATH_UTIL_H_

#include <string.h>

#include "attrs.h"
#include "builtin.h"
#include "elem.h"

/* EAVE_MATH_<NAME>: the id of every builtin of builtins.def, for the math builtins that share
 * one check/run pair across several ops and switch on the step's id. */
enum {
#define EAVE_BUILTIN(id, NAME, fn) EAVE_MATH_##NAME = id,
#include "builtins.def"
#undef EAVE_BUILTIN
};

/* A row-major walk over `rank` dims that keeps, for up to EAVE_ITER_MAX_OPS operands, the
 * element offset the current index maps to under each operand's strides (0 for a broadcast
 * axis). Zero-size dims give no elements; rank 0 gives one. */
#define EAVE_ITER_MAX_OPS 4
typedef struct eave_iter {
  uint32_t rank, ops;
  int64_t dims[EAVE_MAX_RANK], idx[EAVE_MAX_RANK];
  int64_t stride[EAVE_ITER_MAX_OPS][EAVE_MAX_RANK];
  int64_t off[EAVE_ITER_MAX_OPS];
} eave_iter;

/* Walks output dims [rank, dims]; operand k reads ins[k] broadcast to them (right-aligned; a
 * NULL view reads element 0). The caller has checked that the shapes broadcast. */
void eave_iter_broadcast(eave_iter* it, uint32_t rank, const int64_t* dims,
                         const eave_tensor_view* const* ins, uint32_t n);
/* Walks the axes d of x where (mask[d] != 0) == pick, in row-major order, with one operand:
 * the offset into x (the other axes held at 0). A reduction's groups are pick 0, the elements
 * of a group pick 1, so element k of group g is at outer.off[0] + inner.off[0]. */
void eave_iter_axes(eave_iter* it, uint32_t rank, const int64_t* dims, const uint8_t* mask,
                    int pick);
/* Resets the walk to its first element. */
void eave_iter_reset(eave_iter* it);
/* Moves the walk to element i (row-major), which must be in range. */
void eave_iter_seek(eave_iter* it, int64_t i);
/* Elements of the walk. */
int64_t eave_iter_count(const eave_iter* it);

/* Steps to the next element. */
void eave_iter_next(eave_iter* it);

/* The NumPy broadcast of n shapes (NULL views skipped) into *rank, dims; a run error
 * naming the shapes if they do not broadcast. */
eave_status eave_broadcast_shapes(const eave_tensor_view* const* ins, uint32_t n, uint32_t* rank,
                                  int64_t* dims);

/* "[2,3,4]" into buf (truncated to cap). Returns buf, for messages. */
const char* eave_dims_str(char* buf, size_t cap, uint32_t rank, const int64_t* dims);

/* *out = axis in [0, rank) for a possibly negative axis; 0 if out of range. */
int eave_axis_in_range(int64_t axis, uint32_t rank, uint32_t* out);

/* Wraps v to integer dtype t as a C conversion would (two's complement), or 0/1 for bool. */
int64_t eave_wrap_int(eave_dtype t, int64_t v);
/* v truncated toward zero and saturated to int64 (NaN gives 0). */
int64_t eave_f64_to_i64(double v);

/* 1 if input k of the running step is given (not an absent optional input). Absence is an
 * operand property: an empty tensor may have a NULL data pointer. */
int eave_input_present(eave_builtin_ctx* ctx, uint32_t k);

/* The value behind operand k (inputs, then outputs) of `step`, or NULL if absent or out of
 * range: for check functions, which may get any operand count. */
const eave_value* eave_operand(const eave_model* m, const eave_step* step, uint32_t k);
/* Checks the operand counts of a step: inputs in [min_in, max_in] with input 0 present, and 1
 * to max_out outputs (any of which the graph may leave unused). */
eave_status eave_check_arity(const eave_step* step, const eave_model* m, const char* op,
                             uint32_t min_in, uint32_t max_in, uint32_t max_out);

/* Element i of v as a double, and stored from one: eave_elem_f64 / eave_elem_set_f64 with the
 * f32 case inline, since it is the common one. */
static inline double eave_load_f64(const eave_tensor_view* v, uint64_t i) {
  if (v->dtype != EAVE_DTYPE_F32) return eave_elem_f64(v->dtype, v->data, i);
  float f;
  memcpy(&f, (const uint8_t*)v->data + i * 4, 4);
  return f;
}
static inline void eave_store_f64(const eave_tensor_view* v, uint64_t i, double x) {
  if (v->dtype != EAVE_DTYPE_F32) {
    eave_elem_set_f64(v->dtype, v->data, i, x);
    return;
  }
  float f = (float)x;
  memcpy((uint8_t*)v->data + i * 4, &f, 4);
}

/* 1 if dtype is f16, bf16, f32 or f64. */
#define EAVE_IS_FLOAT(t) eave_dtype_is_float((eave_dtype)(t))
/* Integer dtypes, bool excluded. */
int eave_dtype_is_int(eave_dtype t);

/* Format shortcut for dims in messages: EAVE_DIMS(buf, view). */
#define EAVE_DIMS(buf, v) eave_dims_str(buf, sizeof buf, (v).rank, (v).dims)

#endif /* EAVE_BUILTIN_MATH_UTIL_H_ */
