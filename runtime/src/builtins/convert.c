/* Elementwise builtins that move or convert values rather than compute them: Cast and CastLike
 * (as ir/tensor.cc's Tensor::cast), Where (reference/elementwise.cc), and CumSum
 * (reference/reduction.cc), which accumulates in the element type's own arithmetic. */
#include "data.h"

#define R EAVE_MAX_RANK

/* Casts n elements (no strings). Integers convert to floats directly (one rounding, as C does),
 * through float for the 16-bit floats; floats to integers truncate and saturate, NaN giving 0;
 * floats become bools when nonzero as a float; integers wrap into narrower integers. */
void eave_cast(eave_dtype from, const void* src, eave_dtype to, void* dst, uint64_t n) {
  if (from == to) {
    memmove(dst, src, n * eave_dtype_size(from));
    return;
  }
  int from_float = eave_dtype_is_float(from), from_u64 = from == EAVE_DTYPE_U64;
  int to_float = eave_dtype_is_float(to) && to != EAVE_DTYPE_F64, to_f64 = to == EAVE_DTYPE_F64;
  for (uint64_t i = 0; i < n; ++i) {
    if (from_float) {
      double v = eave_elem_f64(from, src, i);
      if (to == EAVE_DTYPE_BOOL) v = (float)v != 0;
      /* 2^63 is the first double past INT64_MAX. */
      if (to == EAVE_DTYPE_I64 && v >= 9223372036854775808.0)
        eave_elem_set_i64(to, dst, i, INT64_MAX);
      else
        eave_elem_set_f64(to, dst, i, v);
    } else if (to_float || to_f64) {
      int64_t v = eave_elem_i64(from, src, i);
      double d = to_f64 ? (from_u64 ? (double)(uint64_t)v : (double)v)
                        : (from_u64 ? (float)(uint64_t)v : (float)v);
      eave_elem_set_f64(to, dst, i, d);
    } else {
      eave_elem_set_i64(to, dst, i, eave_elem_i64(from, src, i));
    }
  }
}

static eave_status cast_run(eave_data_op* op) {
  const eave_tensor_view* x = &op->in[0];
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, &out));
  if (!out.data) return NULL;
  if (x->dtype == EAVE_DTYPE_STRING || out.dtype == EAVE_DTYPE_STRING)
    return eave_cast_strings(op->ctx, x->dtype, x->data, out.dtype, out.data, eave_view_numel(x));
  eave_cast(x->dtype, x->data, out.dtype, out.data, eave_view_numel(x));
  return NULL;
}

/* The output's dtype is the target: the compiler derived it from `to` (or from input 1). */
EAVE_DATA_OP(cast, "CAST", 1, 1, "*|*") { return cast_run(op); }
EAVE_DATA_OP(cast_like, "CAST_LIKE", 2, 1, "**|1") { return cast_run(op); }

EAVE_DATA_OP(where, "WHERE", 3, 1, "b*1|1") {
  int64_t dims[R], st[3][R], idx[R] = {0}, off[3] = {0};
  uint32_t rank = 0;
  for (int k = 0; k < 3; ++k) rank = op->in[k].rank > rank ? op->in[k].rank : rank;
  for (uint32_t d = rank; d-- > 0;) {
    dims[d] = 1;
    for (int k = 0; k < 3; ++k) {
      const eave_tensor_view* t = &op->in[k];
      uint32_t shift = rank - t->rank;
      int64_t x = d >= shift ? t->dims[d - shift] : 1;
      if (x != 1 && dims[d] != 1 && x != dims[d])
        return EAVE_RUN_ERROR("cannot broadcast the inputs on axis %u (%lld vs %lld)", d,
                              (long long)x, (long long)dims[d]);
      if (x != 1) dims[d] = x;
    }
  }
  for (int k = 0; k < 3; ++k) {
    const eave_tensor_view* t = &op->in[k];
    int64_t s = 1;
    for (uint32_t d = rank; d-- > 0;) {
      int64_t x = d >= rank - t->rank ? t->dims[d - (rank - t->rank)] : 1;
      st[k][d] = x == 1 ? 0 : s;
      s *= x;
    }
  }
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  if (eave_empty(&out)) return NULL;
  size_t es = eave_dtype_size(out.dtype);
  const uint8_t* c = op->in[0].data;
  uint64_t n = eave_numel(rank, dims);
  for (uint64_t i = 0; i < n; ++i) {
    const uint8_t* from = c[off[0]] ? (const uint8_t*)op->in[1].data + (uint64_t)off[1] * es
                                    : (const uint8_t*)op->in[2].data + (uint64_t)off[2] * es;
    memcpy((uint8_t*)out.data + i * es, from, es);
    for (uint32_t d = rank; d-- > 0;) {
      int done = ++idx[d] < dims[d];
      for (int k = 0; k < 3; ++k) off[k] += done ? st[k][d] : -st[k][d] * (dims[d] - 1);
      if (done) break;
      idx[d] = 0;
    }
  }
  return NULL;
}

/* Running sums along an axis: f32 and the 16-bit floats add in float, f64 in double, integers
 * in 64 bits and wrap into the element type. */
EAVE_DATA_OP(cum_sum, "CUM_SUM", 2, 1, "xi|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axis;
  if (eave_view_numel(&op->in[1]) != 1 || op->in[1].rank > 1)
    return EAVE_RUN_ERROR("axis (input 1) must be a scalar");
  EAVE_RETURN_IF_ERROR(
      eave_axis(eave_elem_i64(op->in[1].dtype, op->in[1].data, 0), x->rank, &axis));
  int exclusive = eave_op_int(op, "exclusive", 0) != 0,
      reverse = eave_op_int(op, "reverse", 0) != 0;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, &out));
  if (eave_empty(&out)) return NULL;
  eave_dtype t = x->dtype;
  uint64_t n = (uint64_t)x->dims[axis], outer = eave_numel((uint32_t)axis, x->dims);
  uint64_t inner = eave_numel(x->rank - (uint32_t)axis - 1, x->dims + axis + 1);
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      double sd = 0;
      float sf = 0;
      uint64_t su = 0;
      for (uint64_t j = 0; j < n; ++j) {
        uint64_t at = (o * n + (reverse ? n - 1 - j : j)) * inner + i;
        for (int pass = 0; pass < 2; ++pass) {
          if (pass == exclusive) {
            if (t == EAVE_DTYPE_F64)
              sd += eave_elem_f64(t, x->data, at);
            else if (eave_dtype_is_float(t))
              sf += (float)eave_elem_f64(t, x->data, at);
            else
              su += (uint64_t)eave_elem_i64(t, x->data, at);
          } else if (t == EAVE_DTYPE_F64) {
            eave_elem_set_f64(t, out.data, at, sd);
          } else if (eave_dtype_is_float(t)) {
            eave_elem_set_f64(t, out.data, at, sf);
          } else {
            eave_elem_set_i64(t, out.data, at, (int64_t)su);
          }
        }
      }
    }
  return NULL;
}
