#include "math_util.h"

#include <stdio.h>
#include <string.h>

void eave_iter_reset(eave_iter* it) {
  memset(it->idx, 0, sizeof it->idx);
  memset(it->off, 0, sizeof it->off);
}

void eave_iter_next(eave_iter* it) {
  for (uint32_t d = it->rank; d-- > 0;) {
    for (uint32_t k = 0; k < it->ops; ++k) it->off[k] += it->stride[k][d];
    if (++it->idx[d] < it->dims[d]) return;
    for (uint32_t k = 0; k < it->ops; ++k) it->off[k] -= it->stride[k][d] * it->dims[d];
    it->idx[d] = 0;
  }
}

void eave_iter_seek(eave_iter* it, int64_t i) {
  eave_iter_reset(it);
  for (uint32_t d = it->rank; d-- > 0 && i > 0;) {
    it->idx[d] = i % it->dims[d];
    i /= it->dims[d];
    for (uint32_t k = 0; k < it->ops; ++k) it->off[k] += it->idx[d] * it->stride[k][d];
  }
}

int64_t eave_iter_count(const eave_iter* it) { return eave_numel(it->rank, it->dims); }

void eave_iter_broadcast(eave_iter* it, uint32_t rank, const int64_t* dims,
                         const eave_tensor_view* const* ins, uint32_t n) {
  memset(it, 0, sizeof *it);
  it->rank = rank;
  it->ops = n;
  memcpy(it->dims, dims, rank * sizeof *dims);
  for (uint32_t k = 0; k < n; ++k) {
    const eave_tensor_view* v = ins[k];
    if (!v) continue;
    int64_t s = 1;
    for (uint32_t d = v->rank; d-- > 0;) {
      if (v->dims[d] != 1) it->stride[k][rank - v->rank + d] = s;
      s *= v->dims[d];
    }
  }
}

void eave_iter_axes(eave_iter* it, uint32_t rank, const int64_t* dims, const uint8_t* mask,
                    int pick) {
  memset(it, 0, sizeof *it);
  it->ops = 1;
  int64_t s = 1;
  uint32_t n = 0;
  for (uint32_t d = 0; d < rank; ++d) n += (mask[d] != 0) == (pick != 0);
  it->rank = n;
  for (uint32_t d = rank; d-- > 0;) {
    if ((mask[d] != 0) == (pick != 0)) {
      --n;
      it->dims[n] = dims[d];
      it->stride[0][n] = s;
    }
    s *= dims[d];
  }
}

const char* eave_dims_str(char* buf, size_t cap, uint32_t rank, const int64_t* dims) {
  size_t at = 0;
  buf[0] = 0;
  at += (size_t)snprintf(buf, cap, "[");
  for (uint32_t d = 0; d < rank && at < cap; ++d)
    at += (size_t)snprintf(buf + at, cap - at, d ? ",%lld" : "%lld", (long long)dims[d]);
  if (at < cap) snprintf(buf + at, cap - at, "]");
  return buf;
}

eave_status eave_broadcast_shapes(const eave_tensor_view* const* ins, uint32_t n, uint32_t* rank,
                                  int64_t* dims) {
  uint32_t r = 0;
  for (uint32_t k = 0; k < n; ++k)
    if (ins[k] && ins[k]->rank > r) r = ins[k]->rank;
  for (uint32_t d = 0; d < r; ++d) dims[d] = 1;
  for (uint32_t k = 0; k < n; ++k) {
    const eave_tensor_view* v = ins[k];
    if (!v) continue;
    for (uint32_t d = 0; d < v->rank; ++d) {
      int64_t* o = &dims[r - v->rank + d];
      if (*o == v->dims[d] || v->dims[d] == 1) continue;
      if (*o == 1) {
        *o = v->dims[d];
        continue;
      }
      char a[96], b[96];
      uint32_t j = 0;
      while (j < k && !ins[j]) ++j;
      return EAVE_RUN_ERROR("input shapes %s and %s cannot be broadcast together",
                            EAVE_DIMS(a, *ins[j]), EAVE_DIMS(b, *v));
    }
  }
  *rank = r;
  return NULL;
}

int eave_axis_in_range(int64_t axis, uint32_t rank, uint32_t* out) {
  int64_t a = axis < 0 ? axis + (int64_t)rank : axis;
  if (a < 0 || a >= (int64_t)rank) return 0;
  *out = (uint32_t)a;
  return 1;
}

int64_t eave_wrap_int(eave_dtype t, int64_t v) {
  uint8_t buf[8];
  eave_elem_set_i64(t, buf, 0, v);
  return eave_elem_i64(t, buf, 0);
}

int64_t eave_f64_to_i64(double v) {
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

int eave_dtype_is_int(eave_dtype t) {
  return !eave_dtype_is_float(t) && t != EAVE_DTYPE_BOOL && t != EAVE_DTYPE_STRING &&
         eave_dtype_size(t) != 0;
}

int eave_input_present(eave_builtin_ctx* ctx, uint32_t k) {
  const eave_step* st = eave_builtin_step(ctx);
  return k < st->input_count && eave_step_value(eave_builtin_model(ctx), st, k) != NULL;
}

const eave_value* eave_operand(const eave_model* m, const eave_step* step, uint32_t k) {
  return k < step->input_count + step->output_count ? eave_step_value(m, step, k) : NULL;
}

eave_status eave_check_arity(const eave_step* step, const eave_model* m, const char* op,
                             uint32_t min_in, uint32_t max_in, uint32_t max_out) {
  if (step->input_count < min_in || step->input_count > max_in || step->output_count < 1 ||
      step->output_count > max_out) {
    if (max_in == UINT32_MAX)
      return EAVE_INVALID("%s takes at least %u inputs and 1 to %u outputs, got %u and %u", op,
                          min_in, max_out, step->input_count, step->output_count);
    return EAVE_INVALID("%s takes %u to %u inputs and 1 to %u outputs, got %u and %u", op, min_in,
                        max_in, max_out, step->input_count, step->output_count);
  }
  if (!eave_operand(m, step, 0)) return EAVE_INVALID("%s: input 0 is absent", op);
  return NULL;
}
