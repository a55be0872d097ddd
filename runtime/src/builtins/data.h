/* Shared helpers of the data-movement, indexing and shape builtins (shape.c, gather_scatter.c,
 * generate.c, convert.c, sort.c, resample.c): static operand checks, integer lists from inputs
 * and attributes, axes, and one copy engine. Data movement is by element size, so one code path
 * serves every dtype; values are computed through elem.h only where an op computes them. */
#ifndef EAVE_BUILTIN_DATA_H_
#define EAVE_BUILTIN_DATA_H_

#include <string.h>

#include "attrs.h"
#include "builtin.h"
#include "elem.h"

/* ---- load-time checks */

/* Checks a step's operands against `sig`, "INPUTS|OUTPUTS", one letter per operand:
 *   *  any dtype        0-9  the dtype of input N     b  bool        f  a float type
 *   i  int32 or int64   n    any integer type         I  int64       x  numeric (not bool)
 *   s  string
 * A side holds at most as many operands as it has letters, unless it ends with '+': then its
 * last letter covers every further operand (Concat's inputs, Split's outputs). The first
 * `in_min` inputs and `out_min` outputs must be present; absent optional ones are skipped. */
eave_status eave_data_check(const eave_model* m, const eave_step* step, const char* name,
                            uint32_t in_min, uint32_t out_min, const char* sig);

/* eave_builtin_<fn>_check for a builtin whose static constraints are all in a signature. */
#define EAVE_DATA_CHECK(fn, NAME, in_min, out_min, sig)                             \
  eave_status eave_builtin_##fn##_check(const eave_model* m, const eave_step* step, \
                                        const uint8_t* params) {                    \
    (void)params;                                                                   \
    return eave_data_check(m, step, NAME, in_min, out_min, sig);                    \
  }

/* ---- run time */

/* What a run function works with: the context, its attribute blob and the input views. */
typedef struct eave_data_op {
  eave_builtin_ctx* ctx;
  const uint8_t* attrs;
  uint32_t attrs_size;
  uint32_t opset;
  uint32_t inputs;        /* the step's input count */
  eave_tensor_view in[5]; /* the first five inputs (data NULL when absent or missing) */
} eave_data_op;

eave_status eave_data_begin(eave_data_op* op, eave_builtin_ctx* ctx, const uint8_t* params,
                            uint32_t params_size);

/* The element count of `rank` dims, of a view. */
static inline uint64_t eave_view_numel(const eave_tensor_view* v) {
  return eave_numel(v->rank, v->dims);
}

/* 1 when an output is unused or holds no element: nothing to write. Ops return early on it
 * before loops whose trip count multiplies dims (an empty tensor may have huge other dims). */
static inline int eave_empty(const eave_tensor_view* v) { return !v->data || !eave_view_numel(v); }

/* Attribute helpers over the op's blob. */
int64_t eave_op_int(const eave_data_op* op, const char* name, int64_t dflt);
double eave_op_float(const eave_data_op* op, const char* name, double dflt);
int eave_op_has(const eave_data_op* op, const char* name);
/* 1 when STRING attribute `name` is `s` (or absent and `s` is `dflt`). */
int eave_op_str(const eave_data_op* op, const char* name, const char* dflt, const char* s);

/* The index in `names` of STRING attribute `name` (of `dflt` when absent), or -1. */
int eave_op_enum(const eave_data_op* op, const char* name, const char* dflt,
                 const char* const* names, int count);

/* An integer list of at most `max` entries: from INTS attribute `attr` when the opset is below
 * `since` (attr may be NULL), else from input `input` (rank 0 or 1, any integer dtype).
 * *n = -1 when neither is given. */
eave_status eave_op_ints(const eave_data_op* op, const char* attr, uint32_t input, uint32_t since,
                         int64_t* out, uint32_t max, int32_t* n);
/* Input `input` as a list (see eave_op_ints); *n = -1 when absent. */
eave_status eave_input_ints(const eave_tensor_view* t, const char* what, int64_t* out, uint32_t max,
                            int32_t* n);
/* The one element of input view t as a double; `what` names it in errors. */
eave_status eave_scalar_f64(const eave_tensor_view* t, const char* what, double* out);

/* Normalizes axis `a` into [0, rank); an error naming it if out of range. */
eave_status eave_axis(int64_t a, int64_t rank, int64_t* out);
/* Normalizes a list of axes in place; an error on one out of range or repeated. */
eave_status eave_axes(int64_t* axes, uint32_t n, int64_t rank);

/* Row-major strides in elements. */
void eave_strides(uint32_t rank, const int64_t* dims, int64_t* strides);

/* Output k with computed dims (eave_builtin_output_shaped); data NULL when the graph does not
 * use it or the step has no output k. */
eave_status eave_out(eave_data_op* op, uint32_t k, uint32_t rank, const int64_t* dims,
                     eave_tensor_view* out);

/* Scratch memory for `count` int64 entries (eave_builtin_scratch). */
eave_status eave_scratch_i64(eave_data_op* op, uint64_t count, int64_t** out);
/* Scratch for the tables of eave_gather_axes over `dims` (one entry per coordinate of each
 * axis); *map is NULL when `dims` hold no element, and there is nothing to copy. */
eave_status eave_axis_tables(eave_data_op* op, uint32_t rank, const int64_t* dims, int64_t** map);

/* A run function over an eave_data_op: defines eave_builtin_<fn>_run, which reads the blob and
 * the inputs, then runs the body that follows the macro with `op` in scope. */
#define EAVE_DATA_RUN(fn)                                                           \
  static eave_status fn##_body(eave_data_op* op);                                   \
  eave_status eave_builtin_##fn##_run(eave_builtin_ctx* ctx, const uint8_t* params, \
                                      uint32_t params_size) {                       \
    eave_data_op op;                                                                \
    EAVE_RETURN_IF_ERROR(eave_data_begin(&op, ctx, params, params_size));           \
    return fn##_body(&op);                                                          \
  }                                                                                 \
  static eave_status fn##_body(eave_data_op* op)

/* Both functions of a builtin whose load-time check is a signature (eave_data_check). */
#define EAVE_DATA_OP(fn, NAME, in_min, out_min, sig) \
  EAVE_DATA_CHECK(fn, NAME, in_min, out_min, sig)    \
  EAVE_DATA_RUN(fn)

/* The copy engine. out (row-major, `rank` dims) gets, for each multi-index o, the element of
 * src at Σ_d map[d][o_d] (element offsets), or `fill` (one element; NULL: left as is) where any
 * map[d][o_d] is negative. `map` holds the axes' tables back to back (dims[0] entries for axis
 * 0, then axis 1, ...). Runs of consecutive source elements are copied with one memcpy; strided
 * reads go in 32 x 32 tiles of the last two axes. */
void eave_gather_axes(void* out, const void* src, size_t esize, uint32_t rank, const int64_t* dims,
                      const int64_t* map, const void* fill);

/* Copies `count` blocks of `block` bytes, block i from src + i * src_stride to
 * dst + i * dst_stride: the loop of Concat and Split, whose pieces are contiguous. */
void eave_copy_blocks(uint8_t* dst, uint64_t dst_stride, const uint8_t* src, uint64_t src_stride,
                      uint64_t count, uint64_t block);

/* Fills `count` elements of `esize` bytes with the element at `value`. */
void eave_fill(void* dst, uint64_t count, const void* value, size_t esize);

/* A key that orders elements of any numeric dtype as numbers: -0.0 equals 0.0, every NaN is
 * equal and above everything. */
uint64_t eave_order_key(eave_dtype t, const void* base, uint64_t i);

/* Sorts idx[0..n) stably by less(ctx, a, b); tmp has room for n entries. */
typedef int (*eave_less_fn)(const void* ctx, int64_t a, int64_t b);
void eave_sort(int64_t* idx, int64_t* tmp, uint64_t n, eave_less_fn less, const void* ctx);

/* Casts n elements between numeric dtypes as Cast does (convert.c). */
void eave_cast(eave_dtype from, const void* src, eave_dtype to, void* dst, uint64_t n);

/* ---- strings (strings.c) */

/* Casts n elements from or to EAVE_DTYPE_STRING as Cast does: numbers print as the shortest
 * text that reads back as them, text parses as strtod does; an error names a string that is not
 * a number. */
eave_status eave_cast_strings(eave_builtin_ctx* ctx, eave_dtype from, const void* src,
                              eave_dtype to, void* dst, uint64_t n);
/* keys[i] = the rank of string i among the n strings at `data` (equal strings, equal ranks),
 * so that they order as eave_order_key orders numbers. */
eave_status eave_string_keys(eave_data_op* op, const void* data, uint64_t n, uint64_t* keys);

/* Stores v into element i of an integer or float tensor the way ONNX resamplers do: integers
 * round half to even and saturate (NaN gives 0), floats convert. */
void eave_store_rounded(eave_dtype t, void* base, uint64_t i, double v);

#endif /* EAVE_BUILTIN_DATA_H_ */
