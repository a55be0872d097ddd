/* Reduction builtins (reference/reduction.cc): the Reduce* family over a set of axes (an
 * attribute, or an optional int64 input since opset 13 for ReduceSum and 18 for the others;
 * keepdims; noop_with_empty_axes), ArgMax/ArgMin along one axis (select_last_index), and
 * CumSum (exclusive, reverse). Floats accumulate in double; integers in 64 bits (unsigned for
 * u64), wrapping to the element type at the end as the element type's own arithmetic would.
 * An empty group gives the reduction's identity: 0, 1, -inf / the lowest value (max), +inf /
 * the highest value (min), log(0); ReduceMean of nothing is NaN for floats and 0 for
 * integers. */
#include <math.h>
#include <string.h>

#include "math_util.h"

/* ---------------------------------------------------------------- Reduce* */

static uint32_t axes_input_since(uint32_t op) { return op == EAVE_MATH_REDUCE_SUM ? 13 : 18; }

eave_status eave_builtin_reduce_check(const eave_model* m, const eave_step* step,
                                      const uint8_t* params) {
  uint32_t op = step->id, size = step->params_size;
  const char* name = eave_builtin_find(op)->name;
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, 1, 2, 1));
  const eave_value* x = eave_operand(m, step, 0);
  const eave_value* out = eave_operand(m, step, step->input_count);
  eave_dtype t = (eave_dtype)x->dtype;
  uint32_t opset = eave_attrs_opset(params, size);
  int bool_ok = (op == EAVE_MATH_REDUCE_MAX || op == EAVE_MATH_REDUCE_MIN) && opset >= 20;
  if (!(eave_dtype_is_float(t) || eave_dtype_is_int(t) || (bool_ok && t == EAVE_DTYPE_BOOL)))
    return EAVE_INVALID("%s: input dtype %s is not supported", name, eave_dtype_name(t));
  if (out && out->dtype != t) return EAVE_INVALID("%s: output dtype differs from input", name);
  eave_attr a;
  int has_attr = eave_attrs_find(params, size, "axes", &a);
  if (opset >= axes_input_since(op)) {
    if (has_attr)
      return EAVE_INVALID("%s: axes must be input 1 since opset %u, not an attribute", name,
                          axes_input_since(op));
    const eave_value* axes = step->input_count > 1 ? eave_operand(m, step, 1) : NULL;
    if (axes && (axes->dtype != EAVE_DTYPE_I64 || axes->rank != 1))
      return EAVE_INVALID("%s: axes (input 1) must be a 1-D i64 tensor", name);
  } else if (step->input_count > 1) {
    return EAVE_INVALID("%s: axes is an attribute before opset %u, not an input", name,
                        axes_input_since(op));
  }
  return NULL;
}

/* The reduced axes as a mask; *noop when noop_with_empty_axes applies. */
static eave_status reduce_mask(eave_builtin_ctx* ctx, const uint8_t* p, uint32_t n,
                               uint32_t rank, uint8_t* mask, int* noop) {
  uint32_t op = eave_builtin_step(ctx)->id;
  eave_attr a = {0};
  eave_tensor_view axes = {0};
  uint32_t count = 0;
  if (eave_attrs_opset(p, n) >= axes_input_since(op)) {
    if (eave_input_present(ctx, 1)) {
      EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &axes));
      count = (uint32_t)axes.dims[0];
    }
  } else if (eave_attrs_find(p, n, "axes", &a) && a.kind == EAVE_ATTR_INTS) {
    count = a.n;
  }
  memset(mask, count == 0, rank);
  *noop = count == 0 && eave_attr_int(p, n, "noop_with_empty_axes", 0) != 0;
  for (uint32_t i = 0; i < count; ++i) {
    int64_t v = axes.data ? eave_elem_i64(EAVE_DTYPE_I64, axes.data, i) : eave_attr_ints_at(&a, i);
    uint32_t d;
    if (!eave_axis_in_range(v, rank, &d))
      return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)v, rank);
    if (mask[d]) return EAVE_RUN_ERROR("axis %lld is given more than once", (long long)v);
    mask[d] = 1;
  }
  return NULL;
}

/* One group's reduction in double. */
static double reduce_f64(uint32_t op, const eave_tensor_view* x, int64_t base, eave_iter* in) {
  int64_t n = eave_iter_count(in);
  double acc = op == EAVE_MATH_REDUCE_PROD ? 1 : op == EAVE_MATH_REDUCE_MAX ? -INFINITY
               : op == EAVE_MATH_REDUCE_MIN ? INFINITY : 0;
  double top = -INFINITY;
  if (op == EAVE_MATH_REDUCE_LOG_SUM_EXP) {
    /* log(sum(exp(x))) = max + log(sum(exp(x - max))), which cannot overflow. */
    for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) {
      double v = eave_elem_f64(x->dtype, x->data, (uint64_t)(base + in->off[0]));
      if (top < v) top = v;
    }
    if (isinf(top)) return top; /* empty, all -inf, or some +inf */
    eave_iter_reset(in);
  }
  for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) {
    double v = eave_elem_f64(x->dtype, x->data, (uint64_t)(base + in->off[0]));
    switch (op) {
      case EAVE_MATH_REDUCE_PROD: acc *= v; break;
      case EAVE_MATH_REDUCE_MAX: if (v != v) return v; if (acc < v) acc = v; break;
      case EAVE_MATH_REDUCE_MIN: if (v != v) return v; if (v < acc) acc = v; break;
      case EAVE_MATH_REDUCE_L1: acc += fabs(v); break;
      case EAVE_MATH_REDUCE_L2: case EAVE_MATH_REDUCE_SUM_SQUARE: acc += v * v; break;
      case EAVE_MATH_REDUCE_LOG_SUM_EXP: acc += exp(v - top); break;
      default: acc += v; break;
    }
  }
  switch (op) {
    case EAVE_MATH_REDUCE_MEAN: return acc / (double)n;
    case EAVE_MATH_REDUCE_L2: return sqrt(acc);
    case EAVE_MATH_REDUCE_LOG_SUM: return log(acc);
    case EAVE_MATH_REDUCE_LOG_SUM_EXP: return top + log(acc);
    default: return acc;
  }
}

/* A real result as the 64-bit accumulator: truncated toward zero and saturated. */
static int64_t real_to_acc(double v, int uns) {
  if (!uns) return eave_f64_to_i64(v);
  return v != v || v <= 0 ? 0 : v >= 1.8446744073709552e19 ? -1 : (int64_t)(uint64_t)v;
}

static double acc_to_real(int64_t v, int uns) { return uns ? (double)(uint64_t)v : (double)v; }

/* One group's reduction in 64-bit integers (unsigned when uns). */
static int64_t reduce_i64(uint32_t op, const eave_tensor_view* x, int64_t base, eave_iter* in) {
  int uns = x->dtype == EAVE_DTYPE_U64, is_bool = x->dtype == EAVE_DTYPE_BOOL;
  int64_t n = eave_iter_count(in);
  uint64_t acc = op == EAVE_MATH_REDUCE_PROD ? 1 : 0;
  if (op == EAVE_MATH_REDUCE_MAX) acc = is_bool || uns ? 0 : (uint64_t)INT64_MIN;
  if (op == EAVE_MATH_REDUCE_MIN) acc = is_bool ? 1 : uns ? UINT64_MAX : (uint64_t)INT64_MAX;
  double top = -INFINITY, sum = 0;
  for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) {
    int64_t v = eave_elem_i64(x->dtype, x->data, (uint64_t)(base + in->off[0]));
    uint64_t u = (uint64_t)v;
    int lt = uns ? acc < u : (int64_t)acc < v; /* acc < v */
    int gt = uns ? u < acc : v < (int64_t)acc; /* v < acc */
    switch (op) {
      case EAVE_MATH_REDUCE_PROD: acc *= u; break;
      case EAVE_MATH_REDUCE_MAX: if (lt) acc = u; break;
      case EAVE_MATH_REDUCE_MIN: if (gt) acc = u; break;
      case EAVE_MATH_REDUCE_L1: acc += uns || v >= 0 ? u : 0 - u; break;
      case EAVE_MATH_REDUCE_L2: case EAVE_MATH_REDUCE_SUM_SQUARE: acc += u * u; break;
      case EAVE_MATH_REDUCE_LOG_SUM_EXP: {
        double r = acc_to_real(v, uns);
        if (top < r) top = r;
        break;
      }
      default: acc += u; break;
    }
  }
  switch (op) {
    case EAVE_MATH_REDUCE_MEAN:
      if (n == 0) return 0;
      return uns ? (int64_t)(acc / (uint64_t)n) : (int64_t)acc / n;
    case EAVE_MATH_REDUCE_L2: return real_to_acc(sqrt(acc_to_real((int64_t)acc, uns)), uns);
    case EAVE_MATH_REDUCE_LOG_SUM: return real_to_acc(log(acc_to_real((int64_t)acc, uns)), uns);
    case EAVE_MATH_REDUCE_LOG_SUM_EXP:
      if (isinf(top)) return real_to_acc(top, uns);
      eave_iter_reset(in);
      for (int64_t k = 0; k < n; ++k, eave_iter_next(in))
        sum += exp(acc_to_real(eave_elem_i64(x->dtype, x->data, (uint64_t)(base + in->off[0])),
                               uns) - top);
      return real_to_acc(top + log(sum), uns);
    default: return (int64_t)acc;
  }
}

eave_status eave_builtin_reduce_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                    uint32_t params_size) {
  uint32_t op = eave_builtin_step(ctx)->id;
  eave_tensor_view x, out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  uint8_t mask[EAVE_MAX_RANK];
  int noop;
  EAVE_RETURN_IF_ERROR(reduce_mask(ctx, params, params_size, x.rank, mask, &noop));
  if (noop) {
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, x.rank, x.dims, &out));
    if (out.data && x.bytes) memcpy(out.data, x.data, (size_t)x.bytes);
    return NULL;
  }
  int keepdims = eave_attr_int(params, params_size, "keepdims", 1) != 0;
  int64_t dims[EAVE_MAX_RANK];
  uint32_t rank = 0;
  for (uint32_t d = 0; d < x.rank; ++d)
    if (!mask[d] || keepdims) dims[rank++] = mask[d] ? 1 : x.dims[d];
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, rank, dims, &out));
  if (!out.data) return NULL;
  eave_iter outer, inner;
  eave_iter_axes(&outer, x.rank, x.dims, mask, 0);
  eave_iter_axes(&inner, x.rank, x.dims, mask, 1);
  int64_t groups = eave_iter_count(&outer);
  int fp = eave_dtype_is_float(x.dtype);
  for (int64_t g = 0; g < groups; ++g, eave_iter_next(&outer)) {
    eave_iter_reset(&inner);
    if (fp) eave_elem_set_f64(out.dtype, out.data, (uint64_t)g,
                              reduce_f64(op, &x, outer.off[0], &inner));
    else eave_elem_set_i64(out.dtype, out.data, (uint64_t)g,
                           reduce_i64(op, &x, outer.off[0], &inner));
  }
  return NULL;
}

/* ---------------------------------------------------------------- ArgMax, ArgMin */

eave_status eave_builtin_arg_reduce_check(const eave_model* m, const eave_step* step,
                                          const uint8_t* params) {
  const char* name = eave_builtin_find(step->id)->name;
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, 1, 1, 1));
  eave_dtype t = (eave_dtype)eave_operand(m, step, 0)->dtype;
  const eave_value* out = eave_operand(m, step, 1);
  if (!eave_dtype_is_float(t) && !eave_dtype_is_int(t))
    return EAVE_INVALID("%s: input dtype %s is not supported", name, eave_dtype_name(t));
  if (out && out->dtype != EAVE_DTYPE_I64) return EAVE_INVALID("%s: output must be i64", name);
  return NULL;
}

/* Splits dims around `axis`: outer (before), n (the axis), inner (after). */
static void split_at(const eave_tensor_view* x, uint32_t axis, int64_t* outer, int64_t* n,
                     int64_t* inner) {
  *outer = eave_numel(axis, x->dims);
  *n = x->dims[axis];
  *inner = eave_numel(x->rank - axis - 1, x->dims + axis + 1);
}

/* Does v beat best? NaN beats every number, as in numpy's argmax. */
static int beats(const eave_tensor_view* x, uint64_t v, uint64_t best, int is_max) {
  if (eave_dtype_is_float(x->dtype)) {
    double a = eave_elem_f64(x->dtype, x->data, v), b = eave_elem_f64(x->dtype, x->data, best);
    if (b != b) return 0;
    if (a != a) return 1;
    return is_max ? b < a : a < b;
  }
  int64_t a = eave_elem_i64(x->dtype, x->data, v), b = eave_elem_i64(x->dtype, x->data, best);
  if (x->dtype == EAVE_DTYPE_U64) return is_max ? (uint64_t)b < (uint64_t)a : (uint64_t)a < (uint64_t)b;
  return is_max ? b < a : a < b;
}

eave_status eave_builtin_arg_reduce_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                        uint32_t params_size) {
  int is_max = eave_builtin_step(ctx)->id == EAVE_MATH_ARG_MAX;
  eave_tensor_view x, out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  int64_t axis_attr = eave_attr_int(params, params_size, "axis", 0);
  uint32_t axis;
  if (!eave_axis_in_range(axis_attr, x.rank, &axis))
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)axis_attr, x.rank);
  int keepdims = eave_attr_int(params, params_size, "keepdims", 1) != 0;
  int last = eave_attr_int(params, params_size, "select_last_index", 0) != 0;
  int64_t outer, n, inner, dims[EAVE_MAX_RANK];
  split_at(&x, axis, &outer, &n, &inner);
  if (n == 0) return EAVE_RUN_ERROR("cannot reduce along axis %u, which has size 0", axis);
  uint32_t rank = 0;
  for (uint32_t d = 0; d < x.rank; ++d)
    if (d != axis || keepdims) dims[rank++] = d == axis ? 1 : x.dims[d];
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, rank, dims, &out));
  if (!out.data) return NULL;
  int64_t* y = out.data;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      uint64_t base = (uint64_t)(o * n * inner + i);
      /* Scanning from the far end makes the strict comparison keep the last of equal values. */
      int64_t best = last ? n - 1 : 0;
      for (int64_t j = 1; j < n; ++j) {
        int64_t k = last ? n - 1 - j : j;
        if (beats(&x, base + (uint64_t)(k * inner), base + (uint64_t)(best * inner), is_max))
          best = k;
      }
      y[o * inner + i] = best;
    }
  return NULL;
}
