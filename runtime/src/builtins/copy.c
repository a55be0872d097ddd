/* COPY: out = in, bytewise. What Identity becomes when the output cannot alias the input
 * (a model output that is also a model input, say). */
#include <string.h>

#include "builtin.h"

eave_status eave_builtin_copy_check(const eave_model* m, const eave_step* step,
                                    const uint8_t* params) {
  const eave_value* in = step->input_count == 1 ? eave_step_value(m, step, 0) : NULL;
  const eave_value* out = step->output_count == 1 ? eave_step_value(m, step, 1) : NULL;
  if (!in || !out) return EAVE_INVALID("COPY takes 1 input and 1 output");
  if (in->dtype != out->dtype) return EAVE_INVALID("COPY: input and output dtypes differ");
  return NULL;
}

eave_status eave_builtin_copy_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                  uint32_t params_size) {
  eave_tensor_view in, out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &in));
  /* Same rank: the output has the input's dims, which define any RUNTIME symbol among the
   * output's (an output slot whose dims the compiler could not compute before the run). */
  const eave_value* v = eave_step_value(eave_builtin_model(ctx), eave_builtin_step(ctx), 1);
  if (v->rank == in.rank)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, in.rank, in.dims, &out));
  else
    EAVE_RETURN_IF_ERROR(eave_builtin_output(ctx, 0, &out));
  if (in.bytes != out.bytes)
    return eave_make_status(EAVE_STATUS_RUN_ERROR, "COPY: input has %llu bytes, output %llu",
                            (unsigned long long)in.bytes, (unsigned long long)out.bytes);
  if (in.data != out.data) memmove(out.data, in.data, (size_t)in.bytes);
  return NULL;
}
