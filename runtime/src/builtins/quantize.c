/* Linear quantization builtins (reference/quantized.cc): QuantizeLinear and DequantizeLinear
 * with a scale (and zero point) per tensor, per index along `axis` (1-D), or per block of
 * `block_size` indices along `axis` (opset 21), and DynamicQuantizeLinear. Quantization
 * rounds half to even and saturates; float inputs divide in single precision and
 * DequantizeLinear multiplies in single precision unless the scale is f64, as the spec's
 * reference does, so that results match bit for bit. */
#include <math.h>

#include "math_util.h"

static int is_quant_int(uint8_t t) {
  return t == EAVE_DTYPE_U8 || t == EAVE_DTYPE_I8 || t == EAVE_DTYPE_U16 || t == EAVE_DTYPE_I16;
}

/* round(v) half to even, saturated to dtype t's range (NaN gives 0). */
static int64_t saturate_round(eave_dtype t, double v) {
  if (v != v) return 0;
  double r = nearbyint(v);
  double lo = t == EAVE_DTYPE_I8 ? -128 : t == EAVE_DTYPE_I16 ? -32768 : 0;
  double hi = t == EAVE_DTYPE_I8 ? 127 : t == EAVE_DTYPE_U8 ? 255 : t == EAVE_DTYPE_I16 ? 32767
                                                                                          : 65535;
  return (int64_t)(r < lo ? lo : r > hi ? hi : r);
}

/* Which scale / zero-point entry element i of x uses. */
typedef struct qmap {
  enum { PER_TENSOR, PER_AXIS, PER_BLOCK } mode;
  uint32_t axis, rank;
  int64_t block, len, inner;
  const int64_t* xdims;
  const int64_t* pdims;
} qmap;

static int64_t qmap_at(const qmap* q, int64_t i) {
  if (q->mode == PER_TENSOR) return 0;
  if (q->mode == PER_AXIS) return (i / q->inner) % q->len;
  int64_t off = 0, stride = 1;
  for (uint32_t d = q->rank; d-- > 0;) {
    int64_t idx = i % q->xdims[d];
    i /= q->xdims[d];
    if (d == q->axis) idx /= q->block;
    off += idx * stride;
    stride *= q->pdims[d];
  }
  return off;
}

static eave_status qmap_of(const eave_tensor_view* x, const eave_tensor_view* p,
                           const eave_tensor_view* zp, const uint8_t* params, uint32_t size,
                           const char* what, qmap* q) {
  char s1[96], s2[96];
  q->mode = PER_TENSOR;
  int single = eave_numel(p->rank, p->dims) == 1 && p->rank <= 1;
  if (zp) {
    int same = zp->rank == p->rank;
    for (uint32_t d = 0; same && d < p->rank; ++d) same = zp->dims[d] == p->dims[d];
    if (!same && !(single && zp->rank <= 1 && eave_numel(zp->rank, zp->dims) == 1))
      return EAVE_RUN_ERROR("the zero point has shape %s, expected the scale's %s",
                            EAVE_DIMS(s1, *zp), EAVE_DIMS(s2, *p));
  }
  if (single) return NULL;
  if (x->rank == 0) return EAVE_RUN_ERROR("%s must be a scalar for a scalar input", what);
  int64_t axis = eave_attr_int(params, size, "axis", 1);
  if (!eave_axis_in_range(axis, x->rank, &q->axis))
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)axis, x->rank);
  q->block = eave_attr_int(params, size, "block_size", 0);
  q->len = x->dims[q->axis];
  q->rank = x->rank;
  q->xdims = x->dims;
  q->pdims = p->dims;
  if (q->block <= 0) {
    if (p->rank != 1 || p->dims[0] != q->len)
      return EAVE_RUN_ERROR("%s must be a scalar or a 1-D tensor of %lld entries (axis %u of %s), "
                            "got %s", what, (long long)q->len, q->axis, EAVE_DIMS(s1, *x),
                            EAVE_DIMS(s2, *p));
    q->mode = PER_AXIS;
    q->inner = eave_numel(x->rank - q->axis - 1, x->dims + q->axis + 1);
    return NULL;
  }
  int same = p->rank == x->rank;
  for (uint32_t d = 0; same && d < x->rank; ++d)
    same = p->dims[d] == (d == q->axis ? (q->len + q->block - 1) / q->block : x->dims[d]);
  if (!same)
    return EAVE_RUN_ERROR("%s has shape %s, which does not fit block_size %lld along axis %u of %s",
                          what, EAVE_DIMS(s1, *p), (long long)q->block, q->axis,
                          EAVE_DIMS(s2, *x));
  q->mode = PER_BLOCK;
  return NULL;
}

/* Inputs x, scale, zero point (optional) and the element mapping; output 0 shaped like x. */
static eave_status q_setup(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size,
                           const char* what, eave_tensor_view* v, int* has_zp, qmap* q,
                           eave_tensor_view* y) {
  for (uint32_t k = 0; k < 2; ++k) EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &v[k]));
  *has_zp = eave_input_present(ctx, 2);
  if (*has_zp) EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 2, &v[2]));
  EAVE_RETURN_IF_ERROR(qmap_of(&v[0], &v[1], *has_zp ? &v[2] : NULL, params, size, what, q));
  return eave_builtin_output_shaped(ctx, 0, v[0].rank, v[0].dims, y);
}

/* QuantizeLinear: x float or i32, zero point and y u8/i8/u16/i16 alike. DequantizeLinear: x
 * and zero point u8/i8/u16/i16/i32 alike, y of the scale's float type. */
eave_status eave_builtin_linear_quant_check(const eave_model* m, const eave_step* step,
                                            const uint8_t* params) {
  int deq = step->id == EAVE_MATH_DEQUANTIZE_LINEAR;
  const char* name = eave_builtin_find(step->id)->name;
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, 2, 3, 1));
  uint8_t x = eave_operand(m, step, 0)->dtype;
  const eave_value* s = eave_operand(m, step, 1);
  const eave_value* zp = step->input_count > 2 ? eave_operand(m, step, 2) : NULL;
  const eave_value* y = eave_operand(m, step, step->input_count);
  if (!s || !EAVE_IS_FLOAT(s->dtype)) return EAVE_INVALID("%s: the scale must be a float tensor", name);
  if (deq ? !is_quant_int(x) && x != EAVE_DTYPE_I32 : !EAVE_IS_FLOAT(x) && x != EAVE_DTYPE_I32)
    return EAVE_INVALID("%s: x has dtype %s, expected %s", name, eave_dtype_name((eave_dtype)x),
                        deq ? "u8, i8, u16, i16 or i32" : "a float type or i32");
  if (zp && (deq ? zp->dtype != x : !is_quant_int(zp->dtype)))
    return EAVE_INVALID("%s: the zero point has dtype %s, expected %s", name,
                        eave_dtype_name((eave_dtype)zp->dtype), deq ? "x's" : "u8, i8, u16 or i16");
  if (y && (deq ? y->dtype != s->dtype : !is_quant_int(y->dtype) || (zp && y->dtype != zp->dtype)))
    return EAVE_INVALID("%s: output dtype %s, expected %s", name,
                        eave_dtype_name((eave_dtype)y->dtype),
                        deq ? "the scale's" : "the zero point's (or u8, i8, u16, i16)");
  return NULL;
}

/* QuantizeLinear: y = saturate(round(x / scale) + zero_point).
 * DequantizeLinear: y = (x - zero_point) * scale, in the scale's type. */
static eave_status run_linear(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size,
                              int dequantize) {
  eave_tensor_view v[3], y;
  int has_zp;
  qmap q;
  EAVE_RETURN_IF_ERROR(q_setup(ctx, params, size, dequantize ? "x_scale" : "y_scale", v,
                               &has_zp, &q, &y));
  if (!y.data) return NULL;
  int64_t n = eave_numel(v[0].rank, v[0].dims);
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = qmap_at(&q, i);
    double x = eave_elem_f64(v[0].dtype, v[0].data, (uint64_t)i);
    double s = eave_elem_f64(v[1].dtype, v[1].data, (uint64_t)p);
    double z = has_zp ? eave_elem_f64(v[2].dtype, v[2].data, (uint64_t)p) : 0;
    if (dequantize) {
      double r = y.dtype == EAVE_DTYPE_F64 ? (x - z) * s : ((float)x - (float)z) * (float)s;
      eave_elem_set_f64(y.dtype, y.data, (uint64_t)i, r);
    } else {
      double r = v[0].dtype == EAVE_DTYPE_I32 ? nearbyint(x / s) : nearbyintf((float)x / (float)s);
      eave_elem_set_i64(y.dtype, y.data, (uint64_t)i, saturate_round(y.dtype, r + z));
    }
  }
  return NULL;
}

eave_status eave_builtin_linear_quant_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                          uint32_t params_size) {
  return run_linear(ctx, params, params_size,
                    eave_builtin_step(ctx)->id == EAVE_MATH_DEQUANTIZE_LINEAR);
}

eave_status eave_builtin_dynamic_quantize_linear_check(const eave_model* m,
                                                       const eave_step* step,
                                                       const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, "DYNAMIC_QUANTIZE_LINEAR", 1, 1, 3));
  static const uint8_t want[3] = {EAVE_DTYPE_U8, EAVE_DTYPE_F32, EAVE_DTYPE_U8};
  if (!EAVE_IS_FLOAT(eave_operand(m, step, 0)->dtype))
    return EAVE_INVALID("DYNAMIC_QUANTIZE_LINEAR: x must be a float tensor");
  for (uint32_t k = 0; k < step->output_count; ++k) {
    const eave_value* o = eave_operand(m, step, 1 + k);
    if (o && o->dtype != want[k])
      return EAVE_INVALID("DYNAMIC_QUANTIZE_LINEAR: outputs must be u8, f32 and u8");
  }
  return NULL;
}

/* Quantizes x to u8 with the scale and zero point that map [min(x, 0), max(x, 0)] onto the
 * whole u8 range, in single precision. An all-zero input keeps scale 0 and zero point 0. */
eave_status eave_builtin_dynamic_quantize_linear_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                     uint32_t params_size) {
  eave_tensor_view x, o[3];
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  int64_t n = eave_numel(x.rank, x.dims);
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; ++i) {
    float v = (float)eave_elem_f64(x.dtype, x.data, (uint64_t)i);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  float scale = (hi - lo) / 255.0f;
  int64_t zp = scale > 0 ? saturate_round(EAVE_DTYPE_U8, (double)(-lo / scale)) : 0;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, x.rank, x.dims, &o[0]));
  for (uint32_t k = 1; k < 3; ++k) {
    o[k].data = NULL;
    if (k < eave_builtin_step(ctx)->output_count)
      EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, k, 0, NULL, &o[k]));
  }
  if (o[1].data) eave_elem_set_f64(EAVE_DTYPE_F32, o[1].data, 0, scale);
  if (o[2].data) eave_elem_set_i64(EAVE_DTYPE_U8, o[2].data, 0, zp);
  if (!o[0].data) return NULL;
  for (int64_t i = 0; i < n; ++i) {
    float q = scale > 0 ? nearbyintf((float)eave_elem_f64(x.dtype, x.data, (uint64_t)i) / scale)
                        : 0.0f;
    eave_elem_set_i64(EAVE_DTYPE_U8, o[0].data, (uint64_t)i,
                      saturate_round(EAVE_DTYPE_U8, (double)q + (double)zp));
  }
  return NULL;
}
