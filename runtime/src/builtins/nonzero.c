/* NONZERO (ONNX NonZero): the indices of the nonzero elements of X, as an i64 [rank, n]
 * tensor in row-major order of X. n is data-dependent: the builtin counts, defines the
 * RUNTIME symbol n, then has its output allocated. */
#include <string.h>

#include "builtin.h"

/* Is element i nonzero? Floats compare as numbers (-0.0 is zero); the rest bytewise. */
static int is_nonzero(eave_dtype dtype, const uint8_t* p, size_t size) {
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
  const eave_value* in = eave_step_value(m, step, 0);
  const eave_value* out = eave_step_value(m, step, 1);
  int64_t count_dim = out->rank == 2 ? m->dims[out->dims + 1] : 0;
  if (in->kind != EAVE_VALUE_TENSOR || out->kind != EAVE_VALUE_TENSOR ||
      out->dtype != EAVE_DTYPE_I64 || out->rank != 2 || m->dims[out->dims] != in->rank ||
      !EAVE_DIM_IS_SYMBOL(count_dim) ||
      m->symbols[EAVE_DIM_SYMBOL_INDEX(count_dim)].kind != EAVE_SYMBOL_RUNTIME)
    return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                            "NONZERO: output must be i64 [input rank, RUNTIME symbol]");
  if (out->storage != EAVE_STORAGE_HEAP && out->storage != EAVE_STORAGE_OUTPUT)
    return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                            "NONZERO: output must have HEAP or OUTPUT storage");
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
  /* The output's dims were checked at load: [rank, RUNTIME symbol]. */
  const eave_model* m = eave_builtin_model(ctx);
  const eave_value* v = eave_step_value(m, eave_builtin_step(ctx), 1);
  uint32_t symbol = EAVE_DIM_SYMBOL_INDEX(m->dims[v->dims + 1]);
  EAVE_RETURN_IF_ERROR(eave_builtin_set_symbol(ctx, symbol, (int64_t)count));
  EAVE_RETURN_IF_ERROR(eave_builtin_output(ctx, 0, &out));
  int64_t* idx = out.data;
  uint64_t n = 0;
  for (uint64_t i = 0; i < numel; ++i) {
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
