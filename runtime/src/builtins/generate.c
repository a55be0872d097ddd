/* Builtins that make tensors from a description, after reference/shape.cc: ConstantOfShape,
 * Range, EyeLike and Trilu. */
#include <math.h>

#include "data.h"

#define R EAVE_MAX_RANK

eave_status eave_builtin_constant_of_shape_check(const eave_model* m, const eave_step* step,
                                                 const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(eave_data_check(m, step, "CONSTANT_OF_SHAPE", 1, 1, "n|*"));
  const eave_value* out = eave_step_value(m, step, 1);
  eave_attr a;
  if (!eave_attrs_find(params, step->params_size, "value", &a))
    return out->dtype == EAVE_DTYPE_F32 ? NULL
                                        : EAVE_INVALID("CONSTANT_OF_SHAPE: output must be f32");
  if (a.kind != EAVE_ATTR_TENSOR || a.dtype != out->dtype || a.nbytes != eave_dtype_size(a.dtype))
    return EAVE_INVALID("CONSTANT_OF_SHAPE: value must be one element of the output's type");
  return NULL;
}

EAVE_DATA_RUN(constant_of_shape) {
  int64_t dims[R];
  int32_t n;
  eave_attr a;
  static const uint8_t zero[8];
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[0], "shape", dims, R, &n));
  for (int32_t i = 0; i < n; ++i)
    if (dims[i] < 0) return EAVE_RUN_ERROR("shape has a negative dimension");
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, (uint32_t)n, dims, &out));
  const void* value = eave_attrs_find(op->attrs, op->attrs_size, "value", &a) ? a.data : zero;
  if (out.data) eave_fill(out.data, eave_view_numel(&out), value, eave_dtype_size(out.dtype));
  return NULL;
}

/* start + i * delta in the element type's own arithmetic: float for f16, bf16 and f32, wrapping
 * for integers. */
EAVE_DATA_OP(range, "RANGE", 3, 1, "x00|0") {
  eave_dtype t = op->in[0].dtype;
  for (int k = 0; k < 3; ++k)
    if (eave_view_numel(&op->in[k]) != 1)
      return EAVE_RUN_ERROR("start, limit and delta must be scalars");
  double s = eave_elem_f64(t, op->in[0].data, 0), l = eave_elem_f64(t, op->in[1].data, 0);
  double d = eave_elem_f64(t, op->in[2].data, 0);
  if (d == 0) return EAVE_RUN_ERROR("delta is 0");
  double count = ceil((l - s) / d);
  if (count > 4e18) return EAVE_RUN_ERROR("the range is too long");
  int64_t n = count > 0 ? (int64_t)count : 0;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, 1, &n, &out));
  int64_t si = eave_elem_i64(t, op->in[0].data, 0), di = eave_elem_i64(t, op->in[2].data, 0);
  for (int64_t i = 0; out.data && i < n; ++i) {
    if (t == EAVE_DTYPE_F64)
      eave_elem_set_f64(t, out.data, (uint64_t)i, s + (double)i * d);
    else if (eave_dtype_is_float(t)) {
      float step = (float)i * (float)d; /* two statements: no fused multiply-add */
      eave_elem_set_f64(t, out.data, (uint64_t)i, (float)s + step);
    } else
      eave_elem_set_i64(t, out.data, (uint64_t)i,
                        (int64_t)((uint64_t)si + (uint64_t)i * (uint64_t)di));
  }
  return NULL;
}

EAVE_DATA_OP(eye_like, "EYE_LIKE", 1, 1, "*|*") {
  const eave_tensor_view* x = &op->in[0];
  if (x->rank != 2) return EAVE_RUN_ERROR("input must be 2-D");
  int64_t k = eave_op_int(op, "k", 0);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, 2, x->dims, &out));
  if (eave_empty(&out)) return NULL;
  memset(out.data, 0, out.bytes);
  for (int64_t r = 0; r < x->dims[0]; ++r)
    if (k >= -r && k < x->dims[1] - r)
      eave_elem_set_f64(out.dtype, out.data, (uint64_t)(r * x->dims[1] + r + k), 1.0);
  return NULL;
}

/* Keeps the elements on and above (upper) or below (lower) diagonal k of the last two axes. */
EAVE_DATA_OP(trilu, "TRILU", 1, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  double kd = 0;
  if (x->rank < 2) return EAVE_RUN_ERROR("input must have rank >= 2");
  if (op->in[1].data) EAVE_RETURN_IF_ERROR(eave_scalar_f64(&op->in[1], "k", &kd));
  int upper = eave_op_int(op, "upper", 1) != 0;
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
  int64_t k = kd < -4e18 ? -(int64_t)4e18 : kd > 4e18 ? (int64_t)4e18 : (int64_t)kd;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t es = eave_dtype_size(x->dtype), row_bytes = (uint64_t)cols * es;
  uint64_t all_rows = cols ? eave_view_numel(x) / (uint64_t)cols : 0;
  memset(out.data, 0, out.bytes);
  for (uint64_t i = 0; i < all_rows; ++i) {
    /* Row r keeps columns c with c - r >= k (upper) or c - r <= k (lower). */
    int64_t r = (int64_t)(i % (uint64_t)rows), edge = r + k;
    int64_t lo = upper ? (edge < 0 ? 0 : edge) : 0;
    int64_t hi = upper ? cols : (edge + 1 > cols ? cols : edge + 1);
    if (lo < hi)
      memcpy((uint8_t*)out.data + i * row_bytes + (uint64_t)lo * es,
             (const uint8_t*)x->data + i * row_bytes + (uint64_t)lo * es, (uint64_t)(hi - lo) * es);
  }
  return NULL;
}
