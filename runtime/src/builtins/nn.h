/* Helpers shared by the builtins of the heavier ops (matmul.c, conv.c, pool.c, rnn.c,
 * signal.c, nms.c): operand checks, compute-type buffers, the matrix product loop,
 * broadcasting and sliding-window geometry. These builtins are the correctness fallback for
 * what code generation does not handle: plain loops, compiled for size, except for the typed
 * matrix product here (f32, f64 or wrapping 64-bit integers), compiled for speed, so that no
 * per-element dtype switch sits inside a sum of products. */
#ifndef EAVE_BUILTIN_NN_H_
#define EAVE_BUILTIN_NN_H_

#include "attrs.h"
#include "builtin.h"
#include "elem.h"

/* The arithmetic a builtin computes in: f32 (also for f16 and bf16), f64, or integers as
 * uint64_t, which wrap like the element type once truncated back. */
typedef enum eave_nn_kind { EAVE_NN_F32, EAVE_NN_F64, EAVE_NN_INT } eave_nn_kind;

eave_nn_kind eave_nn_kind_of(eave_dtype t);

/* ---- static checks (at load) */

/* eave_check_arity (math_util.h), and the first `required` inputs present. */
eave_status eave_nn_check_operands(const eave_model* m, const eave_step* step, const char* op,
                                   uint32_t min_in, uint32_t max_in, uint32_t required,
                                   uint32_t max_out);
/* Operand k's dtype, or UNDEFINED when absent (or out of range). */
eave_dtype eave_nn_dtype(const eave_model* m, const eave_step* step, uint32_t k);
/* Input k is absent (or beyond the step's inputs) or has dtype t. */
int eave_nn_absent_or(const eave_model* m, const eave_step* step, uint32_t k, eave_dtype t);
/* Operand k's rank (0 when absent). */
uint32_t eave_nn_rank(const eave_model* m, const eave_step* step, uint32_t k);

/* ---- operands at run time */

/* Input k if the step has it: then v->data is never NULL (an empty tensor gets a dummy
 * pointer), so data != NULL tells a given input. Absent (or k beyond the inputs): a zeroed v. */
eave_status eave_nn_optional(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* v);
/* Input k, which must be present (an error naming `what` otherwise). */
eave_status eave_nn_input(eave_builtin_ctx* ctx, uint32_t k, const char* what, eave_tensor_view* v);
/* The product of v's dims. */
uint64_t eave_nn_numel(const eave_tensor_view* v);
/* Product of the non-negative dims[0, n), saturating at INT64_MAX. */
int64_t eave_nn_prod(const int64_t* dims, uint32_t n);
/* Scalar (one-element) input k as double: `dflt` when absent, an error when it has more or
 * fewer than one element. */
eave_status eave_nn_scalar(eave_builtin_ctx* ctx, uint32_t k, const char* what, double dflt,
                           double* out);
/* a * b elements of `size` bytes in scratch, with the byte count overflow-checked. */
eave_status eave_nn_scratch(eave_builtin_ctx* ctx, uint64_t a, uint64_t b, uint64_t size,
                            void** out);

/* v's elements as `kind` values (float, double or uint64_t): v's own data when it already is
 * one, else a converted copy in scratch. */
eave_status eave_nn_load(eave_builtin_ctx* ctx, const eave_tensor_view* v, eave_nn_kind kind,
                         const void** out);
/* Where to compute output v in `kind`: its own memory when the dtype matches, else scratch.
 * eave_nn_store then converts the results into v (nothing when they are already there). */
eave_status eave_nn_result(eave_builtin_ctx* ctx, const eave_tensor_view* v, eave_nn_kind kind,
                           void** out);
void eave_nn_store(const eave_tensor_view* v, eave_nn_kind kind, const void* acc);
/* Element i of a buffer of `kind` as double. */
double eave_nn_get(eave_nn_kind kind, const void* p, uint64_t i);

/* acc[i * n + j] = sum over p of a[i * ars + p * acs] * b[p * brs + j * bcs] for an m x k
 * times k x n product, in `kind`. */
void eave_nn_matmul(eave_nn_kind kind, const void* a, int64_t ars, int64_t acs, const void* b,
                    int64_t brs, int64_t bcs, int64_t m, int64_t k, int64_t n, void* acc);

/* ---- broadcasting */

/* Strides (in elements) for reading a tensor of `rank` dims `dims` as the `out_rank` dims
 * `out` (right-aligned numpy broadcasting: size-1 axes get stride 0). 0 if it does not
 * broadcast. */
int eave_nn_bcast_strides(uint32_t rank, const int64_t* dims, uint32_t out_rank, const int64_t* out,
                          int64_t* strides);
/* The numpy broadcast of two shapes into out (rank max(ra, rb)); 0 if incompatible. */
int eave_nn_bcast_shape(uint32_t ra, const int64_t* a, uint32_t rb, const int64_t* b, int64_t* out);
/* Advances the row-major multi-index idx over dims; 0 after the last one. */
int eave_nn_next_index(uint32_t rank, const int64_t* dims, int64_t* idx);

/* ---- sliding windows (Conv, the pools) */

#define EAVE_NN_MAX_SPATIAL (EAVE_MAX_RANK - 2)

/* Output position o on axis d covers input positions o * stride - pad_begin + k * dilation
 * for k in [0, kernel). */
typedef struct eave_nn_window {
  uint32_t rank;
  int64_t in[EAVE_NN_MAX_SPATIAL], out[EAVE_NN_MAX_SPATIAL], kernel[EAVE_NN_MAX_SPATIAL];
  int64_t stride[EAVE_NN_MAX_SPATIAL], dilation[EAVE_NN_MAX_SPATIAL];
  int64_t pad_begin[EAVE_NN_MAX_SPATIAL], pad_end[EAVE_NN_MAX_SPATIAL];
  int64_t in_size, out_size, kernel_size; /* spatial element counts */
} eave_nn_window;

/* A per-spatial-axis INTS attribute (rank * per_axis entries, each in [lo, 2^31)), or `dflt`
 * on every axis when absent. */
eave_status eave_nn_spatial_attr(const uint8_t* params, uint32_t size, const char* name,
                                 uint32_t rank, uint32_t per_axis, int64_t dflt, int64_t lo,
                                 int64_t* out);
/* The node's kernel_shape if present (it must equal `from_weights` when that is non-NULL),
 * else from_weights. */
eave_status eave_nn_kernel_shape(const uint8_t* params, uint32_t size, uint32_t rank,
                                 const int64_t* from_weights, int64_t* kernel);
/* The geometry of a Conv or pool over spatial dims `in` from strides, dilations, pads,
 * auto_pad and ceil_mode. */
eave_status eave_nn_sliding_window(const uint8_t* params, uint32_t size, uint32_t rank,
                                   const int64_t* in, const int64_t* kernel, eave_nn_window* w);
/* One kernel position inside the input: kernel flat index and input spatial flat offset. */
typedef struct eave_nn_tap {
  int64_t k, x;
} eave_nn_tap;
/* The kernel positions of output position o (multi-index) that fall inside the input; with
 * `transposed`, those of a ConvTranspose: input i feeds output i * stride - pad_begin +
 * k * dilation. Returns the count written to taps (at most kernel_size). */
int64_t eave_nn_window_taps(const eave_nn_window* w, const int64_t* o, int transposed,
                            eave_nn_tap* taps);

#endif /* EAVE_BUILTIN_NN_H_ */
