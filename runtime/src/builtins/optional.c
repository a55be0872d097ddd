/* Optional builtins (ONNX Optional, OptionalHasElement, OptionalGetElement). An optional is a
 * list with a present flag (list.h): an optional tensor holds 0 or 1 tensors, an optional
 * sequence a whole sequence. reference/sequence.cc is the definition. */
#include <string.h>

#include "builtin.h"
#include "elem.h"

#define IN(k) eave_step_value(m, step, k)
#define OUT(k) eave_step_value(m, step, step->input_count + (k))

/* The optional kind that wraps kind k. */
static int wrapped(int k) {
  return k == EAVE_VALUE_TENSOR     ? EAVE_VALUE_OPTIONAL_TENSOR
         : k == EAVE_VALUE_SEQUENCE ? EAVE_VALUE_OPTIONAL_SEQUENCE
                                    : -1;
}

/* The kind inside optional kind k (a plain tensor or sequence is its own content). */
static int unwrapped(int k) {
  return k == EAVE_VALUE_OPTIONAL_TENSOR     ? EAVE_VALUE_TENSOR
         : k == EAVE_VALUE_OPTIONAL_SEQUENCE ? EAVE_VALUE_SEQUENCE
                                             : k;
}

eave_status eave_builtin_optional_check(const eave_model* m, const eave_step* step,
                                        const uint8_t* params) {
  if (step->input_count > 1 || step->output_count != 1 || !OUT(0))
    return EAVE_INVALID("OPTIONAL takes 0 or 1 input and gives 1 output");
  const eave_value* in = step->input_count ? IN(0) : NULL;
  const eave_value* out = OUT(0);
  if (out->kind != EAVE_VALUE_OPTIONAL_TENSOR && out->kind != EAVE_VALUE_OPTIONAL_SEQUENCE)
    return EAVE_INVALID("OPTIONAL gives an optional");
  if (in && (wrapped(in->kind) != out->kind || in->dtype != out->dtype))
    return EAVE_INVALID("OPTIONAL: the output does not wrap the input's kind and dtype");
  return NULL;
}

eave_status eave_builtin_optional_has_element_check(const eave_model* m, const eave_step* step,
                                                    const uint8_t* params) {
  const eave_value* out = step->output_count == 1 ? OUT(0) : NULL;
  if (step->input_count > 1 || !out || out->kind != EAVE_VALUE_TENSOR ||
      out->dtype != EAVE_DTYPE_BOOL || out->rank != 0)
    return EAVE_INVALID("OPTIONAL_HAS_ELEMENT takes 0 or 1 input and gives a bool scalar");
  return NULL;
}

eave_status eave_builtin_optional_get_element_check(const eave_model* m, const eave_step* step,
                                                    const uint8_t* params) {
  if (step->input_count != 1 || step->output_count != 1 || !IN(0) || !OUT(0))
    return EAVE_INVALID("OPTIONAL_GET_ELEMENT takes 1 input and gives 1 output");
  if (unwrapped(IN(0)->kind) != OUT(0)->kind || IN(0)->dtype != OUT(0)->dtype)
    return EAVE_INVALID("OPTIONAL_GET_ELEMENT: the output is not the input's content");
  return NULL;
}

eave_status eave_builtin_optional_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                      uint32_t params_size) {
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  int kind = eave_builtin_step(ctx)->input_count ? eave_builtin_operand_kind(ctx, 0) : -1;
  if (kind < 0) { /* no input: an empty optional */
    out->present = 0;
    return eave_builtin_list_resize(ctx, out, 0);
  }
  if (kind == EAVE_VALUE_SEQUENCE) {
    const eave_list* in;
    EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &in));
    EAVE_RETURN_IF_ERROR(eave_builtin_list_assign(ctx, out, in));
    out->present = 1;
    return NULL;
  }
  eave_tensor_view t;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &t));
  EAVE_RETURN_IF_ERROR(eave_builtin_list_resize(ctx, out, 1));
  out->present = 1;
  return eave_builtin_list_set(ctx, out, 0, t.dtype, t.rank, t.dims, t.data, NULL);
}

eave_status eave_builtin_optional_has_element_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                  uint32_t params_size) {
  int kind = eave_builtin_step(ctx)->input_count ? eave_builtin_operand_kind(ctx, 0) : -1;
  int has = kind >= 0; /* a plain tensor or sequence counts as present, an absent input not */
  if (kind == EAVE_VALUE_OPTIONAL_TENSOR || kind == EAVE_VALUE_OPTIONAL_SEQUENCE) {
    const eave_list* in;
    EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &in));
    has = in->present != 0;
  }
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 0, NULL, &out));
  if (out.data) eave_elem_set_i64(EAVE_DTYPE_BOOL, out.data, 0, has);
  return NULL;
}

eave_status eave_builtin_optional_get_element_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                  uint32_t params_size) {
  int kind = eave_builtin_operand_kind(ctx, 0);
  if (kind == EAVE_VALUE_TENSOR) { /* opset 18: a plain tensor is its own element */
    eave_tensor_view in, out;
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &in));
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, in.rank, in.dims, &out));
    if (out.data && in.bytes) memmove(out.data, in.data, (size_t)in.bytes);
    return NULL;
  }
  const eave_list* in;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &in));
  if (!in->present) return EAVE_RUN_ERROR("the input optional is empty");
  if (kind == EAVE_VALUE_OPTIONAL_TENSOR) {
    if (in->count != 1) return EAVE_RUN_ERROR("an optional tensor holds %u tensors", in->count);
    const eave_buffer* b = &in->items[0];
    eave_tensor_view out;
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, b->rank, b->dims, &out));
    if (out.data && b->bytes) memcpy(out.data, b->data, (size_t)b->bytes);
    return NULL;
  }
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  EAVE_RETURN_IF_ERROR(eave_builtin_list_assign(ctx, out, in));
  out->present = 1;
  return NULL;
}
