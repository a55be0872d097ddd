/* Indexing builtins, after reference/gather_scatter.cc: Gather, GatherElements, GatherND,
 * Scatter/ScatterElements and ScatterND (with reductions), OneHot and Compress. Indices may
 * count from the end where ONNX allows it; every index is checked before it is used, and one
 * out of range is a run error naming it. */
#include "data.h"

#define R EAVE_MAX_RANK

/* Index i of `idx` mapped into [0, n); an error naming it and the axis if out of range. */
static eave_status index_at(const eave_tensor_view* idx, uint64_t i, int64_t n, int64_t axis,
                            int64_t* out) {
  int64_t v = eave_elem_i64(idx->dtype, idx->data, i), r = v < 0 ? v + n : v;
  if (r < 0 || r >= n)
    return EAVE_RUN_ERROR("index %lld is out of range for axis %lld of size %lld", (long long)v,
                          (long long)axis, (long long)n);
  *out = r;
  return NULL;
}

/* Checks every index of `idx` against an axis of size n. */
static eave_status check_indices(const eave_tensor_view* idx, int64_t n, int64_t axis) {
  int64_t r;
  for (uint64_t i = eave_view_numel(idx); i-- > 0;)
    EAVE_RETURN_IF_ERROR(index_at(idx, i, n, axis, &r));
  return NULL;
}

/* Output 0 as a copy of input 0 (the start of every scatter); data NULL when unused. */
static eave_status out_as_data(eave_data_op* op, eave_tensor_view* out) {
  const eave_tensor_view* x = &op->in[0];
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, out));
  if (out->data && out->data != x->data) memmove(out->data, x->data, x->bytes);
  return NULL;
}

/* ---------------------------------------------------------------- gather */

EAVE_DATA_OP(gather, "GATHER", 2, 1, "*i|0") {
  const eave_tensor_view *x = &op->in[0], *idx = &op->in[1];
  int64_t axis, dims[R];
  if (!x->rank) return EAVE_RUN_ERROR("data must have rank >= 1");
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", 0), x->rank, &axis));
  uint32_t rank = x->rank - 1 + idx->rank, a = (uint32_t)axis;
  if (rank > R) return EAVE_RUN_ERROR("the output would have rank %u, above %u", rank, R);
  int64_t n = x->dims[a];
  EAVE_RETURN_IF_ERROR(check_indices(idx, n, axis));
  /* Output: data's dims before axis, the indices' dims, data's dims after axis. */
  memcpy(dims, x->dims, a * 8);
  memcpy(dims + a, idx->dims, idx->rank * 8);
  memcpy(dims + a + idx->rank, x->dims + a + 1, (x->rank - a - 1) * 8);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t outer = eave_numel(a, x->dims), count = eave_view_numel(idx);
  uint64_t inner = eave_dtype_size(x->dtype) * eave_numel(x->rank - a - 1, x->dims + a + 1);
  uint8_t* o = out.data;
  for (uint64_t i = 0; i < outer; ++i)
    for (uint64_t j = 0; j < count; ++j, o += inner) {
      int64_t k;
      index_at(idx, j, n, axis, &k);
      memcpy(o, (const uint8_t*)x->data + (i * (uint64_t)n + (uint64_t)k) * inner, inner);
    }
  return NULL;
}

/* GatherElements and ScatterElements: element i of the indices (at multi-index p) addresses
 * data at p with axis `axis` replaced by the index. Checks the shapes and every index, then
 * calls f(ctx, data offset, i) in order. */
typedef void (*element_fn)(void* ctx, uint64_t to, uint64_t i);

static eave_status for_each_element(eave_data_op* op, element_fn f, void* ctx) {
  const eave_tensor_view *x = &op->in[0], *idx = &op->in[1];
  int64_t axis, xs[R], p[R] = {0}, r;
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", 0), x->rank, &axis));
  if (idx->rank != x->rank) return EAVE_RUN_ERROR("indices must have the rank of data");
  for (uint32_t d = 0; d < x->rank; ++d)
    if (d != axis && idx->dims[d] > x->dims[d])
      return EAVE_RUN_ERROR("indices are larger than data on axis %u", d);
  EAVE_RETURN_IF_ERROR(check_indices(idx, x->dims[axis], axis));
  if (!f) return NULL;
  eave_strides(x->rank, x->dims, xs);
  uint64_t n = eave_view_numel(idx);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t off = 0;
    index_at(idx, i, x->dims[axis], axis, &r);
    for (uint32_t d = 0; d < x->rank; ++d) off += (d == axis ? r : p[d]) * xs[d];
    f(ctx, (uint64_t)off, i);
    for (uint32_t d = x->rank; d-- > 0;) {
      if (++p[d] < idx->dims[d]) break;
      p[d] = 0;
    }
  }
  return NULL;
}

typedef struct move_ctx {
  uint8_t* dst;
  const uint8_t* src;
  size_t es;
  eave_dtype dtype;
  int reduction;
} move_ctx;

static void gather_one(void* c, uint64_t from, uint64_t i) {
  move_ctx* m = c;
  memcpy(m->dst + i * m->es, m->src + from * m->es, m->es);
}

EAVE_DATA_OP(gather_elements, "GATHER_ELEMENTS", 2, 1, "*i|0") {
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(for_each_element(op, NULL, NULL));
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, op->in[1].rank, op->in[1].dims, &out));
  move_ctx m = {out.data, op->in[0].data, eave_dtype_size(out.dtype), out.dtype, 0};
  return out.data ? for_each_element(op, gather_one, &m) : NULL;
}

/* GatherND and ScatterND address data with index tuples: the last axis of indices holds the
 * coordinates of data's axes b .. b + k - 1. Checks the shapes and every index; with `offsets`
 * it receives each tuple's element offset into data. *slice: the elements one tuple selects. */
static eave_status nd_offsets(const eave_tensor_view* x, const eave_tensor_view* idx, int64_t b,
                              uint64_t* slice, int64_t* offsets) {
  int64_t r = x->rank, q = idx->rank, xs[R], pos;
  if (r < 1 || q < 1) return EAVE_RUN_ERROR("data and indices must have rank >= 1");
  if (b < 0 || b >= (r < q ? r : q))
    return EAVE_RUN_ERROR("batch_dims %lld must be less than the ranks of data and indices",
                          (long long)b);
  for (int64_t d = 0; d < b; ++d)
    if (x->dims[d] != idx->dims[d])
      return EAVE_RUN_ERROR("batch dimension %lld differs", (long long)d);
  int64_t k = idx->dims[q - 1];
  if (k < 1 || k > r - b)
    return EAVE_RUN_ERROR("the last dimension of indices must be in [1, %lld]", (long long)(r - b));
  eave_strides((uint32_t)r, x->dims, xs);
  *slice = eave_numel((uint32_t)(r - b - k), x->dims + b + k);
  uint64_t per_batch = eave_numel((uint32_t)(q - b - 1), idx->dims + b);
  uint64_t tuples = eave_view_numel(idx) / (uint64_t)k;
  for (uint64_t t = 0; t < tuples; ++t) {
    int64_t off = b ? (int64_t)(t / per_batch) * xs[b - 1] : 0;
    for (int64_t j = 0; j < k; ++j) {
      EAVE_RETURN_IF_ERROR(
          index_at(idx, t * (uint64_t)k + (uint64_t)j, x->dims[b + j], b + j, &pos));
      off += pos * xs[b + j];
    }
    if (offsets) offsets[t] = off;
  }
  return NULL;
}

EAVE_DATA_OP(gather_nd, "GATHER_ND", 2, 1, "*i|0") {
  const eave_tensor_view *x = &op->in[0], *idx = &op->in[1];
  int64_t b = eave_op_int(op, "batch_dims", 0), dims[R], *offsets;
  uint64_t slice;
  EAVE_RETURN_IF_ERROR(nd_offsets(x, idx, b, &slice, NULL));
  int64_t k = idx->dims[idx->rank - 1];
  uint32_t rank = idx->rank - 1 + (uint32_t)(x->rank - b - k);
  if (rank > R) return EAVE_RUN_ERROR("the output would have rank %u, above %u", rank, R);
  memcpy(dims, idx->dims, (idx->rank - 1) * 8);
  memcpy(dims + idx->rank - 1, x->dims + b + k, (size_t)(x->rank - b - k) * 8);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  uint64_t tuples = eave_view_numel(idx) / (uint64_t)k, es = eave_dtype_size(x->dtype);
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, tuples, &offsets));
  EAVE_RETURN_IF_ERROR(nd_offsets(x, idx, b, &slice, offsets));
  for (uint64_t t = 0; out.data && t < tuples; ++t)
    memcpy((uint8_t*)out.data + t * slice * es, (const uint8_t*)x->data + (uint64_t)offsets[t] * es,
           slice * es);
  return NULL;
}

/* ---------------------------------------------------------------- scatter */

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

static eave_status reduction_of(const eave_data_op* op, int* out) {
  static const char* const names[] = {"none", "add", "mul", "max", "min"};
  *out = eave_op_enum(op, "reduction", "none", names, 5);
  return *out < 0 ? EAVE_RUN_ERROR("unknown reduction (expected none, add, mul, max or min)")
                  : NULL;
}

/* dst[to] = update, or dst[to] combined with it under the reduction. Floats combine in double
 * and round once to the element type, which is exact for one add or multiply of two floats;
 * integers wrap as the element type's own arithmetic does; bools combine as 0/1. */
static void scatter_one(void* c, uint64_t to, uint64_t from) {
  move_ctx* m = c;
  eave_dtype t = m->dtype;
  if (m->reduction == RED_NONE) {
    memcpy(m->dst + to * m->es, m->src + from * m->es, m->es);
  } else if (eave_dtype_is_float(t)) {
    double a = eave_elem_f64(t, m->dst, to), b = eave_elem_f64(t, m->src, from);
    double r = m->reduction == RED_ADD   ? a + b
               : m->reduction == RED_MUL ? a * b
               : m->reduction == RED_MAX ? (a < b ? b : a)
                                         : (b < a ? b : a);
    eave_elem_set_f64(t, m->dst, to, r);
  } else {
    int64_t a = eave_elem_i64(t, m->dst, to), b = eave_elem_i64(t, m->src, from);
    int less = t == EAVE_DTYPE_U64 ? (uint64_t)a < (uint64_t)b : a < b;
    int64_t r = m->reduction == RED_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
                : m->reduction == RED_MUL ? (int64_t)((uint64_t)a * (uint64_t)b)
                : m->reduction == RED_MAX ? (less ? b : a)
                                          : (less ? a : b);
    eave_elem_set_i64(t, m->dst, to, r);
  }
}

EAVE_DATA_OP(scatter_elements, "SCATTER_ELEMENTS", 3, 1, "*i0|0") {
  const eave_tensor_view *idx = &op->in[1], *upd = &op->in[2];
  eave_tensor_view out;
  int red;
  EAVE_RETURN_IF_ERROR(reduction_of(op, &red));
  int same = idx->rank == upd->rank;
  for (uint32_t d = 0; same && d < idx->rank; ++d) same = idx->dims[d] == upd->dims[d];
  if (!same) return EAVE_RUN_ERROR("indices and updates must have the same shape");
  EAVE_RETURN_IF_ERROR(for_each_element(op, NULL, NULL));
  EAVE_RETURN_IF_ERROR(out_as_data(op, &out));
  move_ctx m = {out.data, upd->data, eave_dtype_size(out.dtype), out.dtype, red};
  return out.data ? for_each_element(op, scatter_one, &m) : NULL;
}

EAVE_DATA_OP(scatter_nd, "SCATTER_ND", 3, 1, "*i0|0") {
  const eave_tensor_view *x = &op->in[0], *idx = &op->in[1], *upd = &op->in[2];
  uint64_t slice;
  int64_t *offsets, want[2 * R];
  int red;
  EAVE_RETURN_IF_ERROR(reduction_of(op, &red));
  EAVE_RETURN_IF_ERROR(nd_offsets(x, idx, 0, &slice, NULL));
  /* updates: the indices' dims without the last, then the dims of one addressed slice. */
  int64_t k = idx->dims[idx->rank - 1];
  uint32_t rank = idx->rank - 1 + x->rank - (uint32_t)k;
  memcpy(want, idx->dims, (idx->rank - 1) * 8);
  memcpy(want + idx->rank - 1, x->dims + k, (x->rank - (size_t)k) * 8);
  int same = upd->rank == rank;
  for (uint32_t d = 0; same && d < rank; ++d) same = upd->dims[d] == want[d];
  if (!same) return EAVE_RUN_ERROR("updates do not have the shape indices and data ask for");
  uint64_t tuples = eave_view_numel(idx) / (uint64_t)k;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(out_as_data(op, &out));
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, tuples, &offsets));
  EAVE_RETURN_IF_ERROR(nd_offsets(x, idx, 0, &slice, offsets));
  move_ctx m = {out.data, upd->data, eave_dtype_size(x->dtype), x->dtype, red};
  for (uint64_t t = 0; out.data && t < tuples; ++t)
    for (uint64_t j = 0; j < slice; ++j) scatter_one(&m, (uint64_t)offsets[t] + j, t * slice + j);
  return NULL;
}

/* ---------------------------------------------------------------- one-hot, compress */

EAVE_DATA_OP(one_hot, "ONE_HOT", 3, 1, "xx*|2") {
  const eave_tensor_view *idx = &op->in[0], *values = &op->in[2];
  double depth_v;
  int64_t a, axis = eave_op_int(op, "axis", -1), dims[R];
  EAVE_RETURN_IF_ERROR(eave_scalar_f64(&op->in[1], "depth", &depth_v));
  if (eave_view_numel(values) != 2) return EAVE_RUN_ERROR("values must hold [off_value, on_value]");
  if (!(depth_v >= 1 && depth_v < 4e18)) return EAVE_RUN_ERROR("depth must be positive");
  int64_t depth = (int64_t)depth_v, rank = idx->rank;
  a = axis < 0 ? axis + rank + 1 : axis;
  if (a < 0 || a > rank || rank + 1 > R)
    return EAVE_RUN_ERROR("axis %lld is out of range for output rank %lld", (long long)axis,
                          (long long)rank + 1);
  memcpy(dims, idx->dims, (size_t)a * 8);
  dims[a] = depth;
  memcpy(dims + a + 1, idx->dims + a, (size_t)(rank - a) * 8);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, (uint32_t)rank + 1, dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t inner = eave_numel((uint32_t)(rank - a), idx->dims + a), es = eave_dtype_size(out.dtype);
  uint64_t outer = eave_numel((uint32_t)a, idx->dims);
  uint8_t* o = out.data;
  /* Indices count from the end when negative; any outside [-depth, depth) select nothing. */
  for (uint64_t i = 0; i < outer; ++i)
    for (int64_t d = 0; d < depth; ++d)
      for (uint64_t k = 0; k < inner; ++k, o += es) {
        int64_t v = eave_elem_i64(idx->dtype, idx->data, i * inner + k);
        memcpy(o, (const uint8_t*)values->data + ((v < 0 ? v + depth : v) == d) * es, es);
      }
  return NULL;
}

EAVE_DATA_OP(compress, "COMPRESS", 2, 1, "*b|0") {
  const eave_tensor_view *x = &op->in[0], *cond = &op->in[1];
  int64_t axis = 0, dims[R], flat = (int64_t)eave_view_numel(x);
  /* Without an axis the input is taken as flattened. */
  const int64_t* xd = &flat;
  uint32_t rank = 1;
  if (eave_op_has(op, "axis")) {
    EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", 0), x->rank, &axis));
    xd = x->dims;
    rank = x->rank;
  }
  uint64_t n = (uint64_t)xd[axis], nc = eave_view_numel(cond), kept = 0;
  if (cond->rank != 1 || nc > n)
    return EAVE_RUN_ERROR("condition must be 1-D with at most %llu entries", (unsigned long long)n);
  const uint8_t* c = cond->data;
  for (uint64_t i = 0; i < nc; ++i) kept += c[i] != 0;
  memcpy(dims, xd, rank * 8);
  dims[axis] = (int64_t)kept;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t outer = eave_numel((uint32_t)axis, xd);
  uint64_t inner = eave_dtype_size(x->dtype) * eave_numel(rank - (uint32_t)axis - 1, xd + axis + 1);
  uint8_t* o = out.data;
  for (uint64_t i = 0; i < outer; ++i)
    for (uint64_t j = 0; j < nc; ++j)
      if (c[j]) {
        memcpy(o, (const uint8_t*)x->data + (i * n + j) * inner, inner);
        o += inner;
      }
  return NULL;
}
