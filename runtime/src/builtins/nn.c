#include "nn.h"

#include <string.h>

#include "math_util.h"

eave_nn_kind eave_nn_kind_of(eave_dtype t) {
  if (t == EAVE_DTYPE_F64) return EAVE_NN_F64;
  return eave_dtype_is_float(t) ? EAVE_NN_F32 : EAVE_NN_INT;
}

/* ---- static checks */

eave_status eave_nn_check_operands(const eave_model* m, const eave_step* step, const char* op,
                                   uint32_t min_in, uint32_t max_in, uint32_t required,
                                   uint32_t max_out) {
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, op, min_in, max_in, max_out));
  for (uint32_t k = 1; k < required; ++k)
    if (!eave_operand(m, step, k)) return EAVE_INVALID("%s: input %u is required", op, k);
  return NULL;
}

eave_dtype eave_nn_dtype(const eave_model* m, const eave_step* step, uint32_t k) {
  const eave_value* v = eave_operand(m, step, k);
  return v ? (eave_dtype)v->dtype : EAVE_DTYPE_UNDEFINED;
}

int eave_nn_absent_or(const eave_model* m, const eave_step* step, uint32_t k, eave_dtype t) {
  eave_dtype d = k < step->input_count ? eave_nn_dtype(m, step, k) : EAVE_DTYPE_UNDEFINED;
  return d == EAVE_DTYPE_UNDEFINED || d == t;
}

uint32_t eave_nn_rank(const eave_model* m, const eave_step* step, uint32_t k) {
  const eave_value* v = eave_operand(m, step, k);
  return v ? v->rank : 0;
}

/* ---- operands */

eave_status eave_nn_optional(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* v) {
  /* An empty tensor may have no memory; a given one gets a pointer all the same. */
  static const uint64_t no_elements;
  const eave_step* step = eave_builtin_step(ctx);
  memset(v, 0, sizeof *v);
  if (k >= step->input_count || !eave_step_value(eave_builtin_model(ctx), step, k)) return NULL;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, v));
  if (!v->data) v->data = (void*)&no_elements;
  return NULL;
}

eave_status eave_nn_input(eave_builtin_ctx* ctx, uint32_t k, const char* what,
                          eave_tensor_view* v) {
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, k, v));
  return v->data ? NULL : EAVE_RUN_ERROR("input %u (%s) is required", k, what);
}

int64_t eave_nn_prod(const int64_t* dims, uint32_t n) {
  int64_t p = 1;
  for (uint32_t i = 0; i < n; ++i) {
    if (!dims[i]) return 0;
    p = p > INT64_MAX / dims[i] ? INT64_MAX : p * dims[i];
  }
  return p;
}

uint64_t eave_nn_numel(const eave_tensor_view* v) {
  return (uint64_t)eave_nn_prod(v->dims, v->rank);
}

eave_status eave_nn_scalar(eave_builtin_ctx* ctx, uint32_t k, const char* what, double dflt,
                           double* out) {
  eave_tensor_view v;
  *out = dflt;
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, k, &v));
  if (!v.data) return NULL;
  if (eave_nn_numel(&v) != 1)
    return EAVE_RUN_ERROR("%s must hold a single value, got %llu", what,
                          (unsigned long long)eave_nn_numel(&v));
  *out = eave_elem_f64(v.dtype, v.data, 0);
  return NULL;
}

eave_status eave_nn_scratch(eave_builtin_ctx* ctx, uint64_t a, uint64_t b, uint64_t size,
                            void** out) {
  uint64_t n = a * b;
  if ((a && n / a != b) || (size && n > UINT64_MAX / size))
    return EAVE_RUN_ERROR("scratch of %llu x %llu x %llu bytes overflows", (unsigned long long)a,
                          (unsigned long long)b, (unsigned long long)size);
  return eave_builtin_scratch(ctx, n * size, out);
}

static size_t kind_size(eave_nn_kind kind) { return kind == EAVE_NN_F32 ? 4 : 8; }

static int kind_matches(eave_nn_kind kind, eave_dtype t) {
  switch (kind) {
    case EAVE_NN_F32: return t == EAVE_DTYPE_F32;
    case EAVE_NN_F64: return t == EAVE_DTYPE_F64;
    default: return t == EAVE_DTYPE_I64 || t == EAVE_DTYPE_U64;
  }
}

eave_status eave_nn_load(eave_builtin_ctx* ctx, const eave_tensor_view* v, eave_nn_kind kind,
                         const void** out) {
  if (kind_matches(kind, v->dtype)) {
    *out = v->data;
    return NULL;
  }
  uint64_t n = eave_nn_numel(v);
  void* p;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, n, 1, kind_size(kind), &p));
  for (uint64_t i = 0; i < n; ++i) {
    if (kind == EAVE_NN_F32)
      ((float*)p)[i] = (float)eave_elem_f64(v->dtype, v->data, i);
    else if (kind == EAVE_NN_F64)
      ((double*)p)[i] = eave_elem_f64(v->dtype, v->data, i);
    else
      ((uint64_t*)p)[i] = (uint64_t)eave_elem_i64(v->dtype, v->data, i);
  }
  *out = p;
  return NULL;
}

eave_status eave_nn_result(eave_builtin_ctx* ctx, const eave_tensor_view* v, eave_nn_kind kind,
                           void** out) {
  if (kind_matches(kind, v->dtype)) {
    *out = v->data;
    return NULL;
  }
  return eave_nn_scratch(ctx, eave_nn_numel(v), 1, kind_size(kind), out);
}

double eave_nn_get(eave_nn_kind kind, const void* p, uint64_t i) {
  switch (kind) {
    case EAVE_NN_F32: return ((const float*)p)[i];
    case EAVE_NN_F64: return ((const double*)p)[i];
    default: return (double)(int64_t)((const uint64_t*)p)[i];
  }
}

void eave_nn_store(const eave_tensor_view* v, eave_nn_kind kind, const void* acc) {
  if (acc == v->data) return;
  uint64_t n = eave_nn_numel(v);
  for (uint64_t i = 0; i < n; ++i) {
    if (kind == EAVE_NN_INT)
      eave_elem_set_i64(v->dtype, v->data, i, (int64_t)((const uint64_t*)acc)[i]);
    else
      eave_elem_set_f64(v->dtype, v->data, i, eave_nn_get(kind, acc, i));
  }
}

/* acc[i * n + j] = sum over p of a[i * ars + p * acs] * b[p * brs + j * bcs], in `kind`. Rows
 * of b are added into rows of acc (each sum still runs over p in order), which keeps the inner
 * loop contiguous when bcs is 1. */
#define MATMUL_2D(T)                                            \
  for (int64_t i = 0; i < m; ++i) {                             \
    T* y = (T*)acc + i * n;                                     \
    for (int64_t j = 0; j < n; ++j) y[j] = 0;                   \
    for (int64_t p = 0; p < k; ++p) {                           \
      T x = ((const T*)a)[i * ars + p * acs];                   \
      const T* row = (const T*)b + p * brs;                     \
      for (int64_t j = 0; j < n; ++j) y[j] += x * row[j * bcs]; \
    }                                                           \
  }

void eave_nn_matmul(eave_nn_kind kind, const void* a, int64_t ars, int64_t acs, const void* b,
                    int64_t brs, int64_t bcs, int64_t m, int64_t k, int64_t n, void* acc) {
  switch (kind) {
    case EAVE_NN_F32: MATMUL_2D(float) break;
    case EAVE_NN_F64: MATMUL_2D(double) break;
    default: MATMUL_2D(uint64_t)
  }
}

/* ---- broadcasting */

int eave_nn_bcast_strides(uint32_t rank, const int64_t* dims, uint32_t out_rank, const int64_t* out,
                          int64_t* strides) {
  if (rank > out_rank) return 0;
  int64_t s = 1;
  for (uint32_t d = out_rank; d-- > 0;) {
    strides[d] = 0;
    if (d + rank < out_rank) continue;
    int64_t n = dims[d + rank - out_rank];
    if (n != 1 && n != out[d]) return 0;
    if (n != 1) strides[d] = s;
    s *= n;
  }
  return 1;
}

int eave_nn_bcast_shape(uint32_t ra, const int64_t* a, uint32_t rb, const int64_t* b,
                        int64_t* out) {
  uint32_t r = ra > rb ? ra : rb;
  for (uint32_t d = 0; d < r; ++d) {
    int64_t x = d + ra >= r ? a[d + ra - r] : 1, y = d + rb >= r ? b[d + rb - r] : 1;
    if (x != y && x != 1 && y != 1) return 0;
    out[d] = x == 1 ? y : x;
  }
  return 1;
}

int eave_nn_next_index(uint32_t rank, const int64_t* dims, int64_t* idx) {
  for (uint32_t d = rank; d-- > 0;) {
    if (++idx[d] < dims[d]) return 1;
    idx[d] = 0;
  }
  return 0;
}

/* ---- sliding windows */

/* Attribute values stay below 2^31 so that products of two never overflow. */
#define ATTR_LIMIT ((int64_t)1 << 31)

eave_status eave_nn_spatial_attr(const uint8_t* params, uint32_t size, const char* name,
                                 uint32_t rank, uint32_t per_axis, int64_t dflt, int64_t lo,
                                 int64_t* out) {
  eave_attr a;
  if (!eave_attrs_find(params, size, name, &a)) {
    for (uint32_t i = 0; i < rank * per_axis; ++i) out[i] = dflt;
    return NULL;
  }
  if (a.kind != EAVE_ATTR_INTS || a.n != rank * per_axis)
    return EAVE_RUN_ERROR("%s must have %u entries for %u spatial axes", name, rank * per_axis,
                          rank);
  for (uint32_t i = 0; i < a.n; ++i) {
    out[i] = eave_attr_ints_at(&a, i);
    if (out[i] < lo || out[i] >= ATTR_LIMIT)
      return EAVE_RUN_ERROR("%s[%u] = %lld is out of range", name, i, (long long)out[i]);
  }
  return NULL;
}

eave_status eave_nn_kernel_shape(const uint8_t* params, uint32_t size, uint32_t rank,
                                 const int64_t* from_weights, int64_t* kernel) {
  eave_attr a;
  if (!eave_attrs_find(params, size, "kernel_shape", &a)) {
    if (!from_weights) return EAVE_RUN_ERROR("kernel_shape is required");
    memcpy(kernel, from_weights, rank * sizeof *kernel);
    return NULL;
  }
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "kernel_shape", rank, 1, 1, 1, kernel));
  for (uint32_t d = 0; from_weights && d < rank; ++d)
    if (kernel[d] != from_weights[d])
      return EAVE_RUN_ERROR("kernel_shape[%u] = %lld does not match the weights' %lld", d,
                            (long long)kernel[d], (long long)from_weights[d]);
  return NULL;
}

eave_status eave_nn_sliding_window(const uint8_t* params, uint32_t size, uint32_t rank,
                                   const int64_t* in, const int64_t* kernel, eave_nn_window* w) {
  if (rank > EAVE_NN_MAX_SPATIAL) return EAVE_RUN_ERROR("too many spatial axes (%u)", rank);
  memset(w, 0, sizeof *w);
  w->rank = rank;
  int64_t pads[2 * EAVE_NN_MAX_SPATIAL];
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "strides", rank, 1, 1, 1, w->stride));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "dilations", rank, 1, 1, 1, w->dilation));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "pads", rank, 2, 0, 0, pads));
  int same_upper = eave_attr_string_is(params, size, "auto_pad", "SAME_UPPER", 0);
  int same_lower = eave_attr_string_is(params, size, "auto_pad", "SAME_LOWER", 0);
  int valid = eave_attr_string_is(params, size, "auto_pad", "VALID", 0);
  if (!same_upper && !same_lower && !valid &&
      !eave_attr_string_is(params, size, "auto_pad", "NOTSET", 1))
    return EAVE_RUN_ERROR("unknown auto_pad (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
  int ceil_mode = eave_attr_int(params, size, "ceil_mode", 0) != 0;
  for (uint32_t d = 0; d < rank; ++d) {
    int64_t k = kernel[d], s = w->stride[d], extent = (k - 1) * w->dilation[d] + 1;
    int64_t pb = pads[d], pe = pads[d + rank], out;
    if (k <= 0 || k >= ATTR_LIMIT || in[d] >= ATTR_LIMIT)
      return EAVE_RUN_ERROR("kernel size %lld or input size %lld on axis %u is out of range",
                            (long long)k, (long long)in[d], d);
    if (same_upper || same_lower) {
      /* ceil(in / stride) outputs; the padding that needs is split evenly, the odd element
       * at the end (SAME_UPPER) or the beginning (SAME_LOWER). */
      out = (in[d] + s - 1) / s;
      int64_t total = (out - 1) * s + extent - in[d];
      if (total < 0) total = 0;
      pb = same_upper ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (valid) pb = pe = 0;
      int64_t span = in[d] + pb + pe - extent;
      if (span < 0)
        return EAVE_RUN_ERROR(
            "the window (extent %lld) is larger than spatial axis %u (%lld "
            "plus padding %lld)",
            (long long)extent, d, (long long)in[d], (long long)(pb + pe));
      out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      /* In ceil mode a last window that would start in the end padding is dropped. */
      if (ceil_mode && (out - 1) * s >= in[d] + pb) --out;
    }
    w->in[d] = in[d];
    w->kernel[d] = k;
    w->out[d] = out;
    w->pad_begin[d] = pb;
    w->pad_end[d] = pe;
  }
  w->in_size = eave_nn_prod(w->in, rank);
  w->out_size = eave_nn_prod(w->out, rank);
  w->kernel_size = eave_nn_prod(w->kernel, rank);
  if (w->out_size == INT64_MAX || w->kernel_size == INT64_MAX)
    return EAVE_RUN_ERROR("the window is too large");
  return NULL;
}

int64_t eave_nn_window_taps(const eave_nn_window* w, const int64_t* o, int transposed,
                            eave_nn_tap* taps) {
  int64_t kk[EAVE_NN_MAX_SPATIAL] = {0}, n = 0;
  for (int64_t k = 0; k < w->kernel_size; ++k) {
    int64_t x = 0;
    uint32_t d = 0;
    for (; d < w->rank; ++d) {
      int64_t p = transposed ? o[d] + w->pad_begin[d] - kk[d] * w->dilation[d]
                             : o[d] * w->stride[d] - w->pad_begin[d] + kk[d] * w->dilation[d];
      if (transposed) {
        if (p < 0 || p % w->stride[d]) break;
        p /= w->stride[d];
      }
      if (p < 0 || p >= w->in[d]) break;
      x = x * w->in[d] + p;
    }
    if (d == w->rank) taps[n++] = (eave_nn_tap){k, x};
    eave_nn_next_index(w->rank, w->kernel, kk);
  }
  return n;
}
