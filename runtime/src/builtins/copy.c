/* COPY: out = in. What Identity becomes when the output cannot alias the input (a model
 * output that is also a model input, a shape only known at run time), and for sequences and
 * optionals, which it copies whole. */
#include <string.h>

#include "builtin.h"

eave_status eave_builtin_copy_check(const eave_model* m, const eave_step* step,
                                    const uint8_t* params) {
  const eave_value* in = step->input_count == 1 ? eave_step_value(m, step, 0) : NULL;
  const eave_value* out = step->output_count == 1 ? eave_step_value(m, step, 1) : NULL;
  if (!in || !out) return EAVE_INVALID("COPY takes 1 input and 1 output");
  if (in->dtype != out->dtype || in->kind != out->kind)
    return EAVE_INVALID("COPY: input and output differ in dtype or kind");
  return NULL;
}

eave_status eave_builtin_copy_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                  uint32_t params_size) {
  if (eave_builtin_operand_kind(ctx, 0) != EAVE_VALUE_TENSOR) {
    const eave_list* in;
    eave_list* out;
    EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &in));
    EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
    return eave_builtin_list_assign(ctx, out, in);
  }
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
  if (in.data != out.data && in.bytes) memmove(out.data, in.data, (size_t)in.bytes);
  return NULL;
}
