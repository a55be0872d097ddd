/* Element-wise builtins (reference/elementwise.cc): unary math and activations, binary
 * arithmetic, comparisons, logic and bitwise ops with NumPy broadcasting, variadic
 * Sum/Mean/Max/Min, Clip, Cast and CastLike. One loop serves them all: every element is read
 * as a double (float inputs, and Pow and Shrink, which the reference computes in floating
 * point) or as an int64 (integer and bool inputs, whose wrap-around, division and shift
 * semantics double would get wrong for 64-bit values), handed to a per-op scalar function, and
 * stored in the output's dtype. u64 is the one dtype whose values do not fit int64; the scalar
 * functions compare, divide and shift it unsigned.
 *
 * No params beyond the ONNX attributes (alpha, beta, gamma, lambd, bias, approximate,
 * detect_positive, detect_negative, fmod, direction, and Clip's min/max before opset 11). */
#include <math.h>
#include <string.h>

#include "math_util.h"

enum { ARITY_UNARY, ARITY_BINARY, ARITY_VARIADIC, ARITY_CLIP, ARITY_CAST };
/* Which dtypes input 0 may have. */
enum { IN_FLOAT, IN_NUM, IN_INT, IN_BOOL, IN_ANY };

typedef struct ew_info {
  uint8_t arity, in, out_bool, same_types;
} ew_info;

static ew_info info_of(uint32_t op) {
  ew_info i = {ARITY_UNARY, IN_FLOAT, 0, 1};
  switch (op) {
    case EAVE_MATH_ABS: case EAVE_MATH_NEG: case EAVE_MATH_SIGN: case EAVE_MATH_RELU:
    case EAVE_MATH_SHRINK:
      i.in = IN_NUM;
      break;
    case EAVE_MATH_IS_NAN: case EAVE_MATH_IS_INF: i.out_bool = 1; break;
    case EAVE_MATH_NOT: i.in = IN_BOOL; break;
    case EAVE_MATH_BITWISE_NOT: i.in = IN_INT; break;
    case EAVE_MATH_ADD: case EAVE_MATH_SUB: case EAVE_MATH_MUL: case EAVE_MATH_DIV:
    case EAVE_MATH_MOD: case EAVE_MATH_PRELU:
      i.arity = ARITY_BINARY, i.in = IN_NUM;
      break;
    case EAVE_MATH_POW: i.arity = ARITY_BINARY, i.in = IN_NUM, i.same_types = 0; break;
    case EAVE_MATH_BIT_SHIFT: case EAVE_MATH_BITWISE_AND: case EAVE_MATH_BITWISE_OR:
    case EAVE_MATH_BITWISE_XOR:
      i.arity = ARITY_BINARY, i.in = IN_INT;
      break;
    case EAVE_MATH_AND: case EAVE_MATH_OR: case EAVE_MATH_XOR:
      i.arity = ARITY_BINARY, i.in = IN_BOOL, i.out_bool = 1;
      break;
    case EAVE_MATH_EQUAL: case EAVE_MATH_LESS: case EAVE_MATH_GREATER:
    case EAVE_MATH_LESS_OR_EQUAL: case EAVE_MATH_GREATER_OR_EQUAL:
      i.arity = ARITY_BINARY, i.in = IN_ANY, i.out_bool = 1;
      break;
    case EAVE_MATH_SUM: case EAVE_MATH_MAX: case EAVE_MATH_MIN: case EAVE_MATH_MEAN:
      i.arity = ARITY_VARIADIC, i.in = IN_NUM;
      break;
    case EAVE_MATH_CLIP: i.arity = ARITY_CLIP, i.in = IN_NUM; break;
    case EAVE_MATH_CAST: case EAVE_MATH_CAST_LIKE: i.arity = ARITY_CAST, i.in = IN_ANY; break;
    default: break; /* the unary float ops */
  }
  return i;
}

static int accepts(int in, eave_dtype t) {
  switch (in) {
    case IN_FLOAT: return eave_dtype_is_float(t);
    case IN_NUM: return eave_dtype_is_float(t) || eave_dtype_is_int(t);
    case IN_INT: return eave_dtype_is_int(t);
    case IN_BOOL: return t == EAVE_DTYPE_BOOL;
    default: return eave_dtype_size(t) != 0;
  }
}

/* Attributes and dtype facts the scalar functions need. */
typedef struct ew_attrs {
  double alpha, beta;
  int flag;          /* Gelu tanh, IsInf detect bits, Mod fmod, BitShift left */
  int uns;           /* the integer dtype is u64 */
  uint32_t bits;     /* the integer dtype's width */
} ew_attrs;

static double nan_max(double x, double y) { return x != x || y != y ? NAN : x < y ? y : x; }
static double nan_min(double x, double y) { return x != x || y != y ? NAN : y < x ? y : x; }

static double f_op(uint32_t op, double x, double y, const ew_attrs* a) {
  switch (op) {
    case EAVE_MATH_ABS: return fabs(x);
    case EAVE_MATH_NEG: return -x;
    case EAVE_MATH_SIGN: return x != x ? x : (x > 0) - (x < 0);
    case EAVE_MATH_RELU: return x > 0 ? x : 0;
    case EAVE_MATH_EXP: return exp(x);
    case EAVE_MATH_LOG: return log(x);
    case EAVE_MATH_SQRT: return sqrt(x);
    case EAVE_MATH_SIN: return sin(x);
    case EAVE_MATH_COS: return cos(x);
    case EAVE_MATH_TAN: return tan(x);
    case EAVE_MATH_ASIN: return asin(x);
    case EAVE_MATH_ACOS: return acos(x);
    case EAVE_MATH_ATAN: return atan(x);
    case EAVE_MATH_SINH: return sinh(x);
    case EAVE_MATH_COSH: return cosh(x);
    case EAVE_MATH_ASINH: return asinh(x);
    case EAVE_MATH_ACOSH: return acosh(x);
    case EAVE_MATH_ATANH: return atanh(x);
    case EAVE_MATH_TANH: return tanh(x);
    case EAVE_MATH_ERF: return erf(x);
    case EAVE_MATH_FLOOR: return floor(x);
    case EAVE_MATH_CEIL: return ceil(x);
    case EAVE_MATH_ROUND: return nearbyint(x); /* half to even in the default rounding mode */
    case EAVE_MATH_RECIPROCAL: return 1 / x;
    case EAVE_MATH_SIGMOID: return 1 / (1 + exp(-x));
    /* log(1 + e^x) = x + log(1 + e^-x): the second form cannot overflow for large x. */
    case EAVE_MATH_SOFTPLUS: return x > 30 ? x + log1p(exp(-x)) : log1p(exp(x));
    case EAVE_MATH_SOFTSIGN: return x / (1 + fabs(x));
    case EAVE_MATH_MISH: return x * tanh(log1p(exp(x)));
    case EAVE_MATH_HARD_SWISH: return x * fmax(0, fmin(1, x / 6 + 0.5));
    case EAVE_MATH_LEAKY_RELU: return x >= 0 ? x : a->alpha * x;
    case EAVE_MATH_ELU: return x >= 0 ? x : a->alpha * expm1(x);
    case EAVE_MATH_CELU: return fmax(0, x) + fmin(0, a->alpha * expm1(x / a->alpha));
    case EAVE_MATH_SELU: return a->beta * (x > 0 ? x : a->alpha * expm1(x));
    case EAVE_MATH_HARD_SIGMOID: return fmax(0, fmin(1, a->alpha * x + a->beta));
    case EAVE_MATH_THRESHOLDED_RELU: return x > a->alpha ? x : 0;
    case EAVE_MATH_SHRINK: return x < -a->alpha ? x + a->beta : x > a->alpha ? x - a->beta : 0;
    case EAVE_MATH_GELU:
      if (a->flag) return 0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
      return 0.5 * x * (1 + erf(x / 1.4142135623730951));
    case EAVE_MATH_IS_NAN: return x != x;
    case EAVE_MATH_IS_INF: return isinf(x) && (x > 0 ? a->flag & 1 : a->flag & 2);
    case EAVE_MATH_ADD: case EAVE_MATH_SUM: case EAVE_MATH_MEAN: return x + y;
    case EAVE_MATH_SUB: return x - y;
    case EAVE_MATH_MUL: return x * y;
    case EAVE_MATH_DIV: return x / y;
    case EAVE_MATH_MOD: return fmod(x, y);
    case EAVE_MATH_POW: return pow(x, y);
    case EAVE_MATH_EQUAL: return x == y;
    case EAVE_MATH_LESS: return x < y;
    case EAVE_MATH_GREATER: return x > y;
    case EAVE_MATH_LESS_OR_EQUAL: return x <= y;
    case EAVE_MATH_GREATER_OR_EQUAL: return x >= y;
    case EAVE_MATH_PRELU: return x < 0 ? x * y : x;
    case EAVE_MATH_MAX: return nan_max(x, y);
    case EAVE_MATH_MIN: return nan_min(x, y);
    default: return x; /* Cast */
  }
}

/* Integer semantics: wrap-around arithmetic (in uint64, converted back to the element type by
 * the store), division by zero gives 0, INT_MIN / -1 gives INT_MIN. */
static int64_t i_op(uint32_t op, int64_t x, int64_t y, const ew_attrs* a) {
  uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
  int lt = a->uns ? ux < uy : x < y;
  switch (op) {
    case EAVE_MATH_ABS: return a->uns || x >= 0 ? x : (int64_t)(0 - ux);
    case EAVE_MATH_NEG: return (int64_t)(0 - ux);
    case EAVE_MATH_SIGN: return a->uns ? x != 0 : (x > 0) - (x < 0);
    case EAVE_MATH_RELU: return a->uns || x > 0 ? x : 0;
    case EAVE_MATH_NOT: return !x;
    case EAVE_MATH_BITWISE_NOT: return ~x;
    case EAVE_MATH_ADD: case EAVE_MATH_SUM: case EAVE_MATH_MEAN: return (int64_t)(ux + uy);
    case EAVE_MATH_SUB: return (int64_t)(ux - uy);
    case EAVE_MATH_MUL: return (int64_t)(ux * uy);
    case EAVE_MATH_DIV:
      if (y == 0) return 0;
      if (a->uns) return (int64_t)(ux / uy);
      return y == -1 ? (int64_t)(0 - ux) : x / y;
    case EAVE_MATH_MOD: {
      if (y == 0) return 0;
      if (a->uns) return (int64_t)(ux % uy);
      if (y == -1) return 0;
      int64_t r = x % y;
      /* Without fmod the result takes the divisor's sign (Python's %). */
      if (!a->flag && r != 0 && (r < 0) != (y < 0)) r += y;
      return r;
    }
    case EAVE_MATH_BIT_SHIFT:
      if (uy >= a->bits) return 0;
      if (a->flag) return (int64_t)(ux << uy);
      return a->uns ? (int64_t)(ux >> uy) : x >> uy;
    case EAVE_MATH_AND: return x && y;
    case EAVE_MATH_OR: return x || y;
    case EAVE_MATH_XOR: return !x != !y;
    case EAVE_MATH_BITWISE_AND: return x & y;
    case EAVE_MATH_BITWISE_OR: return x | y;
    case EAVE_MATH_BITWISE_XOR: return x ^ y;
    case EAVE_MATH_EQUAL: return x == y;
    case EAVE_MATH_LESS: return lt;
    case EAVE_MATH_GREATER: return !lt && x != y;
    case EAVE_MATH_LESS_OR_EQUAL: return lt || x == y;
    case EAVE_MATH_GREATER_OR_EQUAL: return !lt;
    case EAVE_MATH_PRELU: return a->uns || x >= 0 ? x : (int64_t)(ux * uy);
    case EAVE_MATH_MAX: return lt ? y : x;
    case EAVE_MATH_MIN: return lt ? x : y;
    default: return x; /* Cast */
  }
}

static const char* op_name(uint32_t op) { return eave_builtin_find(op)->name; }

eave_status eave_builtin_elementwise_check(const eave_model* m, const eave_step* step,
                                           const uint8_t* params) {
  uint32_t op = step->id;
  ew_info info = info_of(op);
  const char* name = op_name(op);
  uint32_t lo = 1, hi = 1;
  switch (info.arity) {
    case ARITY_BINARY: lo = hi = 2; break;
    case ARITY_VARIADIC: hi = UINT32_MAX; break;
    case ARITY_CLIP: hi = 3; break;
    case ARITY_CAST: lo = hi = op == EAVE_MATH_CAST_LIKE ? 2 : 1; break;
  }
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, lo, hi, 1));
  eave_dtype t = (eave_dtype)eave_operand(m, step, 0)->dtype;
  if (!accepts(info.in, t) || (t == EAVE_DTYPE_STRING && op != EAVE_MATH_EQUAL))
    return EAVE_INVALID("%s: input dtype %s is not supported", name, eave_dtype_name(t));
  for (uint32_t k = 1; k < step->input_count; ++k) {
    const eave_value* v = eave_operand(m, step, k);
    if (!v) {
      if (info.arity == ARITY_CLIP) continue;
      return EAVE_INVALID("%s: input %u is absent", name, k);
    }
    if (info.same_types && info.arity != ARITY_CAST && v->dtype != t)
      return EAVE_INVALID("%s: input %u is %s, input 0 %s", name, k,
                          eave_dtype_name((eave_dtype)v->dtype), eave_dtype_name(t));
    if (!accepts(info.in, (eave_dtype)v->dtype))
      return EAVE_INVALID("%s: input %u dtype %s is not supported", name, k,
                          eave_dtype_name((eave_dtype)v->dtype));
  }
  const eave_value* out = eave_operand(m, step, step->input_count);
  eave_dtype want = info.out_bool ? EAVE_DTYPE_BOOL : t;
  if (op == EAVE_MATH_CAST_LIKE) want = (eave_dtype)eave_operand(m, step, 1)->dtype;
  if (out && (op == EAVE_MATH_CAST ? !eave_dtype_size((eave_dtype)out->dtype)
                                   : out->dtype != want))
    return EAVE_INVALID("%s: output dtype %s, expected %s", name,
                        eave_dtype_name((eave_dtype)out->dtype), eave_dtype_name(want));
  uint32_t size = step->params_size;
  if (op == EAVE_MATH_MOD && eave_dtype_is_float(t) && !eave_attr_int(params, size, "fmod", 0))
    return EAVE_INVALID("MOD: fmod must be 1 for floating-point inputs");
  if (op == EAVE_MATH_BIT_SHIFT && !eave_attr_string_is(params, size, "direction", "LEFT", 0) &&
      !eave_attr_string_is(params, size, "direction", "RIGHT", 0))
    return EAVE_INVALID("BIT_SHIFT: direction must be LEFT or RIGHT");
  return NULL;
}

static void read_attrs(uint32_t op, const uint8_t* p, uint32_t n, eave_dtype t, ew_attrs* a) {
  memset(a, 0, sizeof *a);
  a->uns = t == EAVE_DTYPE_U64;
  a->bits = (uint32_t)eave_dtype_size(t) * 8;
  switch (op) {
    case EAVE_MATH_LEAKY_RELU: a->alpha = eave_attr_float(p, n, "alpha", 0.01f); break;
    case EAVE_MATH_ELU: case EAVE_MATH_CELU: case EAVE_MATH_THRESHOLDED_RELU:
      a->alpha = eave_attr_float(p, n, "alpha", 1.0);
      break;
    case EAVE_MATH_SELU:
      a->alpha = eave_attr_float(p, n, "alpha", 1.67326319217681884765625);
      a->beta = eave_attr_float(p, n, "gamma", 1.05070102214813232421875);
      break;
    case EAVE_MATH_HARD_SIGMOID:
      a->alpha = eave_attr_float(p, n, "alpha", 0.2f);
      a->beta = eave_attr_float(p, n, "beta", 0.5f);
      break;
    case EAVE_MATH_SHRINK:
      a->alpha = eave_attr_float(p, n, "lambd", 0.5);
      a->beta = eave_attr_float(p, n, "bias", 0.0);
      break;
    case EAVE_MATH_GELU: a->flag = eave_attr_string_is(p, n, "approximate", "tanh", 0); break;
    case EAVE_MATH_IS_INF:
      a->flag = (eave_attr_int(p, n, "detect_positive", 1) != 0) |
                (eave_attr_int(p, n, "detect_negative", 1) != 0) << 1;
      break;
    case EAVE_MATH_MOD: a->flag = eave_attr_int(p, n, "fmod", 0) != 0; break;
    case EAVE_MATH_BIT_SHIFT: a->flag = eave_attr_string_is(p, n, "direction", "LEFT", 0); break;
  }
}

/* Floating-point computation, also for Pow and Shrink on integers (whose results convert to
 * the integer type the way the reference does: truncated, then wrapped). */
static int computes_in_double(uint32_t op, eave_dtype t) {
  return eave_dtype_is_float(t) || op == EAVE_MATH_POW || op == EAVE_MATH_SHRINK;
}

static void store_f64(eave_dtype t, void* base, uint64_t i, double r) {
  if (eave_dtype_is_int(t) && t != EAVE_DTYPE_U64) eave_elem_set_i64(t, base, i, eave_f64_to_i64(r));
  else eave_elem_set_f64(t, base, i, r);
}

/* Cast: integers convert exactly to integers (wrapping) and round once to f32 and f64 (to f16
 * and bf16 through f32, as the reference does); floats follow elem.h (truncate and saturate
 * into integers, round to nearest even into narrower floats). */
static void cast_element(const eave_tensor_view* x, uint64_t from, const eave_tensor_view* y,
                         uint64_t to) {
  if (eave_dtype_is_float(x->dtype)) {
    eave_elem_set_f64(y->dtype, y->data, to, eave_elem_f64(x->dtype, x->data, from));
    return;
  }
  int64_t v = eave_elem_i64(x->dtype, x->data, from);
  int uns = x->dtype == EAVE_DTYPE_U64;
  if (y->dtype == EAVE_DTYPE_F64)
    eave_elem_set_f64(y->dtype, y->data, to, uns ? (double)(uint64_t)v : (double)v);
  else if (eave_dtype_is_float(y->dtype))
    eave_elem_set_f64(y->dtype, y->data, to, uns ? (float)(uint64_t)v : (float)v);
  else
    eave_elem_set_i64(y->dtype, y->data, to, v);
}

/* Sum, Mean, Max, Min over any number of inputs. The output is computed in blocks whose
 * running results stay in double (or int64) while up to EAVE_ITER_MAX_OPS inputs at a time are
 * folded in, so no intermediate is rounded to a narrow output type. */
#define VARIADIC_BLOCK 256

static eave_status run_variadic(eave_builtin_ctx* ctx, uint32_t op, const ew_attrs* a,
                                uint32_t n) {
  eave_tensor_view views[EAVE_ITER_MAX_OPS], out;
  const eave_tensor_view* ins[EAVE_ITER_MAX_OPS];
  uint32_t rank = 0;
  int64_t dims[EAVE_MAX_RANK];
  /* The output shape: broadcast the inputs one at a time into (rank, dims). */
  eave_tensor_view acc_view = {NULL, 0, EAVE_DTYPE_F32, 0, dims};
  for (uint32_t k = 0; k < n; ++k) {
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &views[0]));
    int64_t d[EAVE_MAX_RANK];
    acc_view.rank = rank;
    ins[0] = k ? &acc_view : NULL;
    ins[1] = &views[0];
    EAVE_RETURN_IF_ERROR(eave_broadcast_shapes(ins, 2, &rank, d));
    memcpy(dims, d, sizeof d);
  }
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, rank, dims, &out));
  if (!out.data) return NULL;
  int fp = eave_dtype_is_float(out.dtype);
  union {
    double f;
    int64_t i;
  } acc[VARIADIC_BLOCK];
  int64_t total = eave_numel(rank, dims);
  for (int64_t start = 0; start < total; start += VARIADIC_BLOCK) {
    int64_t len = total - start < VARIADIC_BLOCK ? total - start : VARIADIC_BLOCK;
    for (uint32_t first = 0; first < n; first += EAVE_ITER_MAX_OPS) {
      uint32_t count = n - first < EAVE_ITER_MAX_OPS ? n - first : EAVE_ITER_MAX_OPS;
      for (uint32_t k = 0; k < count; ++k) {
        EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, first + k, &views[k]));
        ins[k] = &views[k];
      }
      eave_iter it;
      eave_iter_broadcast(&it, rank, dims, ins, count);
      eave_iter_seek(&it, start);
      for (int64_t j = 0; j < len; ++j, eave_iter_next(&it))
        for (uint32_t k = 0; k < count; ++k) {
          const eave_tensor_view* v = &views[k];
          if (fp) {
            double x = eave_elem_f64(v->dtype, v->data, (uint64_t)it.off[k]);
            acc[j].f = first + k ? f_op(op, acc[j].f, x, a) : x;
          } else {
            int64_t x = eave_elem_i64(v->dtype, v->data, (uint64_t)it.off[k]);
            acc[j].i = first + k ? i_op(op, acc[j].i, x, a) : x;
          }
        }
    }
    for (int64_t j = 0; j < len; ++j) {
      uint64_t i = (uint64_t)(start + j);
      if (fp) {
        eave_elem_set_f64(out.dtype, out.data, i, op == EAVE_MATH_MEAN ? acc[j].f / n : acc[j].f);
        continue;
      }
      int64_t r = acc[j].i;
      /* The reference accumulates in the element type, so Mean divides the wrapped sum. */
      if (op == EAVE_MATH_MEAN) {
        r = eave_wrap_int(out.dtype, r);
        r = a->uns ? (int64_t)((uint64_t)r / n) : r / (int64_t)n;
      }
      eave_elem_set_i64(out.dtype, out.data, i, r);
    }
  }
  return NULL;
}

/* Clip's bounds: attributes before opset 11, optional scalar inputs 1 and 2 since. */
typedef struct clip_bounds {
  double lo, hi;
  int64_t ilo, ihi;
  int has_lo, has_hi;
} clip_bounds;

static eave_status clip_bounds_of(eave_builtin_ctx* ctx, const uint8_t* p, uint32_t n,
                                  clip_bounds* b) {
  b->lo = -INFINITY, b->hi = INFINITY, b->has_lo = b->has_hi = 0;
  if (eave_attrs_opset(p, n) < 11) {
    b->lo = eave_attr_float(p, n, "min", -3.4028234663852886e38);
    b->hi = eave_attr_float(p, n, "max", 3.4028234663852886e38);
    return NULL;
  }
  for (uint32_t k = 1; k < eave_builtin_step(ctx)->input_count; ++k) {
    eave_tensor_view v;
    if (!eave_input_present(ctx, k)) continue;
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &v));
    char s[96];
    if (eave_numel(v.rank, v.dims) != 1)
      return EAVE_RUN_ERROR("%s (input %u) must be a scalar, got shape %s", k == 1 ? "min" : "max",
                            k, EAVE_DIMS(s, v));
    double d = eave_elem_f64(v.dtype, v.data, 0);
    int64_t i = eave_elem_i64(v.dtype, v.data, 0);
    if (k == 1) b->lo = d, b->ilo = i, b->has_lo = 1;
    else b->hi = d, b->ihi = i, b->has_hi = 1;
  }
  return NULL;
}

static int64_t clip_int(int64_t x, const clip_bounds* b, int uns) {
  uint64_t ux = (uint64_t)x;
  if (b->has_lo && (uns ? ux < (uint64_t)b->ilo : x < b->ilo)) return b->ilo;
  if (b->has_hi && (uns ? ux > (uint64_t)b->ihi : x > b->ihi)) return b->ihi;
  return x;
}

eave_status eave_builtin_elementwise_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                         uint32_t params_size) {
  const eave_step* step = eave_builtin_step(ctx);
  uint32_t op = step->id;
  ew_info info = info_of(op);
  eave_tensor_view x, y, out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  ew_attrs a;
  read_attrs(op, params, params_size, x.dtype, &a);
  if (info.arity == ARITY_VARIADIC) return run_variadic(ctx, op, &a, step->input_count);

  clip_bounds cb = {0};
  if (op == EAVE_MATH_CLIP) EAVE_RETURN_IF_ERROR(clip_bounds_of(ctx, params, params_size, &cb));
  const eave_tensor_view* ins[2] = {&x, NULL};
  int64_t slope_dims[EAVE_MAX_RANK];
  if (info.arity == ARITY_BINARY) {
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &y));
    ins[1] = &y;
    /* PRelu before opset 7 took a 1-D slope over the channels: read it as [C, 1, ...]. */
    if (op == EAVE_MATH_PRELU && y.rank == 1 && x.rank > 2 && y.dims[0] == x.dims[1] &&
        y.dims[0] != x.dims[x.rank - 1]) {
      slope_dims[0] = y.dims[0];
      for (uint32_t d = 1; d + 1 < x.rank; ++d) slope_dims[d] = 1;
      y.rank = x.rank - 1;
      y.dims = slope_dims;
    }
  }
  uint32_t rank;
  int64_t dims[EAVE_MAX_RANK];
  EAVE_RETURN_IF_ERROR(eave_broadcast_shapes(ins, info.arity == ARITY_BINARY ? 2 : 1, &rank, dims));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, rank, dims, &out));
  if (!out.data) return NULL;

  eave_iter it;
  eave_iter_broadcast(&it, rank, dims, ins, 2);
  int64_t total = eave_iter_count(&it);
  /* Rows along the last axis: the walk moves between rows, offsets step inside one. */
  int64_t row = rank ? dims[rank - 1] : 1, s0 = 0, s1 = 0;
  if (rank) s0 = it.stride[0][rank - 1], s1 = it.stride[1][rank - 1], it.rank = rank - 1;
  int fp = computes_in_double(op, x.dtype);
  for (int64_t i = 0; i < total; eave_iter_next(&it))
  for (int64_t j = 0; j < row; ++j, ++i) {
    uint64_t o0 = (uint64_t)(it.off[0] + j * s0), o1 = (uint64_t)(it.off[1] + j * s1);
    if (info.arity == ARITY_CAST) {
      cast_element(&x, o0, &out, (uint64_t)i);
    } else if (x.dtype == EAVE_DTYPE_STRING) { /* Equal */
      ((uint8_t*)out.data)[i] = !strcmp(eave_string_at(x.data, o0), eave_string_at(y.data, o1));
    } else if (fp) {
      double v = eave_load_f64(&x, o0), r;
      if (op == EAVE_MATH_CLIP) r = v != v ? v : v < cb.lo ? cb.lo : v > cb.hi ? cb.hi : v;
      else r = f_op(op, v, ins[1] ? eave_load_f64(&y, o1) : 0, &a);
      if (eave_dtype_is_int(out.dtype)) store_f64(out.dtype, out.data, (uint64_t)i, r);
      else eave_store_f64(&out, (uint64_t)i, r);
    } else {
      int64_t v = eave_elem_i64(x.dtype, x.data, o0), r;
      if (op == EAVE_MATH_CLIP) r = clip_int(v, &cb, a.uns);
      else r = i_op(op, v, ins[1] ? eave_elem_i64(y.dtype, y.data, o1) : 0, &a);
      eave_elem_set_i64(out.dtype, out.data, (uint64_t)i, r);
    }
  }
  return NULL;
}
