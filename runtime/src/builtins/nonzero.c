/* NONZERO (ONNX NonZero): the indices of the nonzero elements of X, as an i64 [rank, n]
 * tensor in row-major order of X. n is data-dependent: the builtin counts, then has its output
 * allocated with the dims it found (eave_builtin_output_shaped defines n when the compiler made
 * it a RUNTIME symbol, and checks it when the compiler knew it). */
#include <string.h>

#include "builtin.h"

/* Is element i nonzero? Floats compare as numbers (-0.0 is zero), strings are nonzero when not
 * empty; the rest bytewise. */
static int is_nonzero(eave_dtype dtype, const uint8_t* p, size_t size) {
  if (dtype == EAVE_DTYPE_STRING) return *eave_string_at(p, 0) != 0;
  uint64_t bits = 0;
  memcpy(&bits, p, size); /* little-endian: the low `size` bytes hold the element */
  switch (dtype) {
    case EAVE_DTYPE_F16:
    case EAVE_DTYPE_BF16: return (bits & 0x7fffu) != 0;
    case EAVE_DTYPE_F32: return (bits & 0x7fffffffu) != 0;
    case EAVE_DTYPE_F64: return (bits & 0x7fffffffffffffffull) != 0;
    default: return bits != 0;
  }
}

eave_status eave_builtin_nonzero_check(const eave_model* m, const eave_step* step,
                                       const uint8_t* params) {
  if (step->input_count != 1 || step->output_count != 1 || !eave_step_value(m, step, 0))
    return EAVE_INVALID("NONZERO takes 1 input and 1 output");
  const eave_value* out = eave_step_value(m, step, 1);
  if (out && (out->kind != EAVE_VALUE_TENSOR || out->dtype != EAVE_DTYPE_I64 || out->rank != 2))
    return EAVE_INVALID("NONZERO: output must be i64 [input rank, count]");
  return NULL;
}

eave_status eave_builtin_nonzero_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                     uint32_t params_size) {
  eave_tensor_view in, out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &in));
  size_t esize = eave_dtype_size(in.dtype);
  uint64_t numel = esize ? in.bytes / esize : 0, count = 0;
  const uint8_t* x = in.data;
  for (uint64_t i = 0; i < numel; ++i) count += is_nonzero(in.dtype, x + i * esize, esize);
  int64_t dims[2] = {in.rank, (int64_t)count};
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 2, dims, &out));
  int64_t* idx = out.data;
  uint64_t n = 0;
  for (uint64_t i = 0; idx && i < numel; ++i) {
    if (!is_nonzero(in.dtype, x + i * esize, esize)) continue;
    uint64_t rest = i;
    for (uint32_t a = in.rank; a-- > 0;) {
      idx[a * count + n] = (int64_t)(rest % (uint64_t)in.dims[a]);
      rest /= (uint64_t)in.dims[a];
    }
    ++n;
  }
  return NULL;
}
