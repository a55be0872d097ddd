/* CHECK (eave.Check): fails the run with the node's "message" attribute unless its one input,
 * a scalar of any integer or bool type, is nonzero. The compiler inserts it where it
 * specialized a model on an assumption (an If branch that cannot run with the compiled input
 * shapes): the run then stops with that message instead of computing something else. */
#include "attrs.h"
#include "builtin.h"
#include "elem.h"

eave_status eave_builtin_check_check(const eave_model* m, const eave_step* step,
                                     const uint8_t* params) {
  if (step->input_count != 1 || step->output_count != 0 || !eave_step_value(m, step, 0))
    return EAVE_INVALID("CHECK takes one input and no outputs");
  eave_dtype t = (eave_dtype)eave_step_value(m, step, 0)->dtype;
  if (eave_dtype_is_float(t) || !eave_dtype_size(t))
    return EAVE_INVALID("CHECK: the condition must be an integer or bool");
  return NULL;
}

eave_status eave_builtin_check_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                   uint32_t params_size) {
  eave_tensor_view c;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &c));
  if (c.bytes != eave_dtype_size(c.dtype))
    return EAVE_RUN_ERROR("CHECK: the condition must have one element");
  if (eave_elem_i64(c.dtype, c.data, 0)) return NULL;
  eave_attr msg;
  if (params_size && eave_attrs_find(params, params_size, "message", &msg) &&
      msg.kind == EAVE_ATTR_STRING)
    return EAVE_RUN_ERROR("%.*s", (int)msg.n, (const char*)msg.data);
  return EAVE_RUN_ERROR("a check the compiler inserted failed");
}
