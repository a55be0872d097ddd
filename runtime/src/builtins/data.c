#include "data.h"

#include <math.h>

/* ---- load-time checks */

static int dtype_fits(char c, eave_dtype t, const eave_model* m, const eave_step* st) {
  switch (c) {
    case 'b':
      return t == EAVE_DTYPE_BOOL;
    case 'f':
      return eave_dtype_is_float(t);
    case 'i':
      return t == EAVE_DTYPE_I32 || t == EAVE_DTYPE_I64;
    case 'I':
      return t == EAVE_DTYPE_I64;
    case 'n':
      return t != EAVE_DTYPE_BOOL && t != EAVE_DTYPE_STRING && !eave_dtype_is_float(t);
    case 'x':
      return t != EAVE_DTYPE_BOOL && t != EAVE_DTYPE_STRING;
    case 's':
      return t == EAVE_DTYPE_STRING;
    case '*':
      return 1;
    default: {
      uint32_t k = (uint32_t)(c - '0');
      const eave_value* v = k < st->input_count ? eave_step_value(m, st, k) : NULL;
      return !v || v->dtype == t;
    }
  }
}

static eave_status check_side(const eave_model* m, const eave_step* st, const char* name,
                              const char* sig, size_t len, uint32_t first, uint32_t count,
                              uint32_t min, const char* what) {
  int repeat = len > 0 && sig[len - 1] == '+';
  size_t letters = len - (size_t)repeat;
  if (count < min || (!repeat && count > letters))
    return EAVE_INVALID("%s takes %u to %u %s, the step has %u", name, min,
                        repeat ? 65536u : (uint32_t)letters, what, count);
  for (uint32_t k = 0; k < count; ++k) {
    const eave_value* v = eave_step_value(m, st, first + k);
    if (!v) {
      if (k < min) return EAVE_INVALID("%s: %s %u is required", name, what, k);
      continue;
    }
    char c = sig[k < letters ? k : letters - 1];
    if (v->dtype == EAVE_DTYPE_UNDEFINED || !eave_dtype_size((eave_dtype)v->dtype) ||
        !dtype_fits(c, (eave_dtype)v->dtype, m, st))
      return EAVE_INVALID("%s: %s %u has an element type the op does not take here", name, what, k);
  }
  return NULL;
}

eave_status eave_data_check(const eave_model* m, const eave_step* step, const char* name,
                            uint32_t in_min, uint32_t out_min, const char* sig) {
  const char* bar = strchr(sig, '|');
  EAVE_RETURN_IF_ERROR(
      check_side(m, step, name, sig, (size_t)(bar - sig), 0, step->input_count, in_min, "inputs"));
  return check_side(m, step, name, bar + 1, strlen(bar + 1), step->input_count, step->output_count,
                    out_min, "outputs");
}

/* ---- run time */

eave_status eave_data_begin(eave_data_op* op, eave_builtin_ctx* ctx, const uint8_t* params,
                            uint32_t params_size) {
  memset(op, 0, sizeof *op);
  op->ctx = ctx;
  op->attrs = params;
  op->attrs_size = params_size;
  op->opset = eave_attrs_opset(params, params_size);
  op->inputs = eave_builtin_step(ctx)->input_count;
  for (uint32_t k = 0; k < op->inputs && k < 5; ++k)
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &op->in[k]));
  return NULL;
}

eave_status eave_out(eave_data_op* op, uint32_t k, uint32_t rank, const int64_t* dims,
                     eave_tensor_view* out) {
  memset(out, 0, sizeof *out);
  if (k >= eave_builtin_step(op->ctx)->output_count) return NULL;
  return eave_builtin_output_shaped(op->ctx, k, rank, dims, out);
}

int64_t eave_op_int(const eave_data_op* op, const char* name, int64_t dflt) {
  return eave_attr_int(op->attrs, op->attrs_size, name, dflt);
}

double eave_op_float(const eave_data_op* op, const char* name, double dflt) {
  return eave_attr_float(op->attrs, op->attrs_size, name, dflt);
}

int eave_op_has(const eave_data_op* op, const char* name) {
  eave_attr a;
  return eave_attrs_find(op->attrs, op->attrs_size, name, &a);
}

int eave_op_str(const eave_data_op* op, const char* name, const char* dflt, const char* s) {
  return eave_attr_string_is(op->attrs, op->attrs_size, name, s, strcmp(dflt, s) == 0);
}

int eave_op_enum(const eave_data_op* op, const char* name, const char* dflt,
                 const char* const* names, int count) {
  for (int i = 0; i < count; ++i)
    if (eave_op_str(op, name, dflt, names[i])) return i;
  return -1;
}

eave_status eave_input_ints(const eave_tensor_view* t, const char* what, int64_t* out, uint32_t max,
                            int32_t* n) {
  *n = -1;
  if (!t->data) return NULL;
  uint64_t count = eave_view_numel(t);
  if (t->rank > 1 || count > max)
    return EAVE_RUN_ERROR("%s must be a list of at most %u integers", what, max);
  for (uint64_t i = 0; i < count; ++i) out[i] = eave_elem_i64(t->dtype, t->data, i);
  *n = (int32_t)count;
  return NULL;
}

eave_status eave_op_ints(const eave_data_op* op, const char* attr, uint32_t input, uint32_t since,
                         int64_t* out, uint32_t max, int32_t* n) {
  *n = -1;
  if (op->opset >= since)
    return input < op->inputs && input < 5 ? eave_input_ints(&op->in[input], attr, out, max, n)
                                           : NULL;
  eave_attr a;
  if (!attr || !eave_attrs_find(op->attrs, op->attrs_size, attr, &a) || a.kind != EAVE_ATTR_INTS)
    return NULL;
  if (a.n > max) return EAVE_RUN_ERROR("%s has %u entries, at most %u allowed", attr, a.n, max);
  for (uint32_t i = 0; i < a.n; ++i) out[i] = eave_attr_ints_at(&a, i);
  *n = (int32_t)a.n;
  return NULL;
}

eave_status eave_scalar_f64(const eave_tensor_view* t, const char* what, double* out) {
  if (!t->data || eave_view_numel(t) != 1)
    return EAVE_RUN_ERROR("%s must hold exactly one element", what);
  *out = eave_elem_f64(t->dtype, t->data, 0);
  return NULL;
}

eave_status eave_axis(int64_t a, int64_t rank, int64_t* out) {
  if (a < -rank || a >= rank)
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %lld", (long long)a, (long long)rank);
  *out = a < 0 ? a + rank : a;
  return NULL;
}

eave_status eave_axes(int64_t* axes, uint32_t n, int64_t rank) {
  for (uint32_t i = 0; i < n; ++i) {
    EAVE_RETURN_IF_ERROR(eave_axis(axes[i], rank, &axes[i]));
    for (uint32_t j = 0; j < i; ++j)
      if (axes[j] == axes[i]) return EAVE_RUN_ERROR("axis %lld is given twice", (long long)axes[i]);
  }
  return NULL;
}

void eave_strides(uint32_t rank, const int64_t* dims, int64_t* strides) {
  int64_t s = 1;
  for (uint32_t d = rank; d-- > 0;) {
    strides[d] = s;
    s *= dims[d];
  }
}

eave_status eave_scratch_i64(eave_data_op* op, uint64_t count, int64_t** out) {
  if (count > (UINT64_MAX >> 4)) return EAVE_RUN_ERROR("needs too much scratch memory");
  return eave_builtin_scratch(op->ctx, count * 8, (void**)out);
}

eave_status eave_axis_tables(eave_data_op* op, uint32_t rank, const int64_t* dims, int64_t** map) {
  uint64_t sum = 0;
  *map = NULL;
  if (!eave_numel(rank, dims)) return NULL;
  for (uint32_t d = 0; d < rank; ++d) sum += (uint64_t)dims[d];
  return eave_scratch_i64(op, sum + 1, map);
}

/* ---- copying */

/* One element of `es` bytes: a fixed-size copy for the usual sizes. */
static void copy_element(uint8_t* d, const uint8_t* s, size_t es) {
  switch (es) {
    case 1:
      *d = *s;
      break;
    case 2:
      memcpy(d, s, 2);
      break;
    case 4:
      memcpy(d, s, 4);
      break;
    case 8:
      memcpy(d, s, 8);
      break;
    default:
      memcpy(d, s, es);
  }
}

void eave_gather_axes(void* out, const void* src, size_t es, uint32_t rank, const int64_t* dims,
                      const int64_t* map, const void* fill) {
  static const int64_t zero = 0;
  uint64_t total = eave_numel(rank, dims);
  uint8_t* o = out;
  const uint8_t* s = src;
  if (!total) return;
  /* The last two axes are the planes the copy works on (a scalar or a vector gets leading
   * axes of one coordinate at offset 0). */
  const int64_t* tab[EAVE_MAX_RANK + 2] = {&zero, &zero};
  int64_t dim[EAVE_MAX_RANK + 2] = {1, 1}, idx[EAVE_MAX_RANK + 2] = {0};
  uint32_t r = rank < 2 ? 2 : rank, first = r - rank;
  for (uint32_t d = 0; d < rank; ++d) {
    tab[first + d] = d ? tab[first + d - 1] + dims[d - 1] : map;
    dim[first + d] = dims[d];
  }
  const int64_t *ta = tab[r - 2], *tb = tab[r - 1];
  int64_t na = dim[r - 2], nb = dim[r - 1];
  int runs = 1; /* the last axis reads consecutive elements (rows copy in runs) */
  for (int64_t j = 1; j < nb && runs; ++j) runs = tb[j] == tb[j - 1] + 1;
  for (uint64_t plane = total / (uint64_t)(na * nb); plane-- > 0; o += (uint64_t)(na * nb) * es) {
    int64_t base = 0;
    int outside = 0;
    for (uint32_t d = 0; d + 2 < r; ++d) {
      outside |= tab[d][idx[d]] < 0;
      base += tab[d][idx[d]];
    }
    /* Strided reads go in 32 x 32 tiles, so that a transpose reuses each cache line it loads. */
    int64_t tile = runs ? na : 32, tile_b = runs ? nb : 32;
    for (int64_t i0 = 0; i0 < na; i0 += tile)
      for (int64_t j0 = 0; j0 < nb; j0 += tile_b)
        for (int64_t i = i0; i < na && i < i0 + tile; ++i) {
          int64_t row = base + ta[i], j_end = nb < j0 + tile_b ? nb : j0 + tile_b;
          uint8_t* orow = o + (uint64_t)(i * nb) * es;
          for (int64_t j = j0; j < j_end;) {
            if (outside || ta[i] < 0 || tb[j] < 0) {
              if (fill) copy_element(orow + (uint64_t)j * es, fill, es);
              ++j;
              continue;
            }
            int64_t k = j + 1;
            while (k < j_end && tb[k] == tb[k - 1] + 1) ++k;
            if (k == j + 1)
              copy_element(orow + (uint64_t)j * es, s + (uint64_t)(row + tb[j]) * es, es);
            else
              memcpy(orow + (uint64_t)j * es, s + (uint64_t)(row + tb[j]) * es,
                     (uint64_t)(k - j) * es);
            j = k;
          }
        }
    for (uint32_t d = r - 2; d-- > 0;) {
      if (++idx[d] < dim[d]) break;
      idx[d] = 0;
    }
  }
}

void eave_copy_blocks(uint8_t* dst, uint64_t dst_stride, const uint8_t* src, uint64_t src_stride,
                      uint64_t count, uint64_t block) {
  if (!block) return;
  for (uint64_t i = 0; i < count; ++i) memcpy(dst + i * dst_stride, src + i * src_stride, block);
}

void eave_fill(void* dst, uint64_t count, const void* value, size_t es) {
  uint8_t* d = dst;
  if (!count) return;
  memcpy(d, value, es);
  for (uint64_t done = 1; done < count;) {
    uint64_t n = done < count - done ? done : count - done;
    memcpy(d + done * es, d, n * es);
    done += n;
  }
}

/* ---- ordering */

uint64_t eave_order_key(eave_dtype t, const void* base, uint64_t i) {
  const uint64_t sign = (uint64_t)1 << 63;
  if (eave_dtype_is_float(t)) {
    double v = eave_elem_f64(t, base, i);
    if (v != v) return UINT64_MAX;
    if (v == 0) v = 0; /* -0.0 */
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return bits & sign ? ~bits : bits | sign;
  }
  if (t == EAVE_DTYPE_U64) return (uint64_t)eave_elem_i64(t, base, i);
  return (uint64_t)eave_elem_i64(t, base, i) ^ sign;
}

void eave_sort(int64_t* a, int64_t* tmp, uint64_t n, eave_less_fn less, const void* ctx) {
  for (uint64_t w = 1; w < n; w *= 2) {
    for (uint64_t lo = 0; lo < n; lo += 2 * w) {
      uint64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      uint64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = less(ctx, a[j], a[i]) ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, n * sizeof *a);
  }
}

void eave_store_rounded(eave_dtype t, void* base, uint64_t i, double v) {
  if (eave_dtype_is_float(t)) {
    eave_elem_set_f64(t, base, i, v);
    return;
  }
  v = v != v ? 0 : rint(v);
  if (t == EAVE_DTYPE_BOOL) v = v >= 1;
  /* 2^63 is the first double past INT64_MAX. */
  if (t == EAVE_DTYPE_I64 && v >= 9223372036854775808.0)
    eave_elem_set_i64(t, base, i, INT64_MAX);
  else
    eave_elem_set_f64(t, base, i, v);
}
