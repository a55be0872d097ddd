/* Builtins that order elements, after reference/misc.cc: TopK and Unique. Elements compare as
 * numbers through eave_order_key (NaN above everything, -0.0 equal to 0.0), strings by their
 * bytes; ties go to the lower index. */
#include "data.h"

#define R EAVE_MAX_RANK

typedef struct lane {
  const uint64_t* keys;
  int64_t stride; /* TopK: elements between a lane's entries. Unique: elements per slice row */
  int largest;
  uint64_t outer, inner, n; /* Unique: slices are [outer, inner] blocks along the axis */
} lane;

static int topk_less(const void* c, int64_t a, int64_t b) {
  const lane* l = c;
  uint64_t ka = l->keys[a * l->stride], kb = l->keys[b * l->stride];
  if (ka != kb) return l->largest ? ka > kb : ka < kb;
  return a < b;
}

/* Values and indices of the k largest (or smallest) entries along the axis, sorted. */
EAVE_DATA_OP(top_k, "TOP_K", 1, 1, "xI|0I") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axis, k, dims[R], *idx;
  if (!x->rank) return EAVE_RUN_ERROR("input must have rank >= 1");
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", -1), x->rank, &axis));
  if (op->opset < 10) {
    k = eave_op_int(op, "k", -1);
  } else {
    if (!op->in[1].data || eave_view_numel(&op->in[1]) != 1)
      return EAVE_RUN_ERROR("K must be a single int64");
    k = eave_elem_i64(EAVE_DTYPE_I64, op->in[1].data, 0);
  }
  int64_t n = x->dims[axis];
  if (k < 0 || k > n)
    return EAVE_RUN_ERROR("k = %lld is outside [0, %lld]", (long long)k, (long long)n);
  memcpy(dims, x->dims, x->rank * 8);
  dims[axis] = k;
  eave_tensor_view values, indices;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, dims, &values));
  EAVE_RETURN_IF_ERROR(eave_out(op, 1, x->rank, dims, &indices));
  uint64_t numel = eave_view_numel(x), es = eave_dtype_size(x->dtype);
  if (!numel) return NULL;
  uint64_t outer = eave_numel((uint32_t)axis, x->dims);
  uint64_t inner = eave_numel(x->rank - (uint32_t)axis - 1, x->dims + axis + 1);
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, numel + 2 * (uint64_t)n, &idx));
  uint64_t* keys = (uint64_t*)idx + 2 * n;
  for (uint64_t i = 0; i < numel; ++i) keys[i] = eave_order_key(x->dtype, x->data, i);
  lane l = {NULL, (int64_t)inner, eave_op_int(op, "largest", 1) != 0, 0, 0, 0};
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      l.keys = keys + o * (uint64_t)n * inner + i;
      for (int64_t j = 0; j < n; ++j) idx[j] = j;
      eave_sort(idx, idx + n, (uint64_t)n, topk_less, &l);
      for (int64_t j = 0; j < k; ++j) {
        uint64_t dst = (o * (uint64_t)k + (uint64_t)j) * inner + i;
        if (values.data)
          memcpy((uint8_t*)values.data + dst * es,
                 (const uint8_t*)x->data + ((o * (uint64_t)n + (uint64_t)idx[j]) * inner + i) * es,
                 es);
        if (indices.data) ((int64_t*)indices.data)[dst] = idx[j];
      }
    }
  return NULL;
}

/* Compares slices a and b element by element in row-major order: -1, 0 or 1. */
static int slice_cmp(const lane* l, int64_t a, int64_t b) {
  for (uint64_t o = 0; o < l->outer; ++o)
    for (uint64_t i = 0; i < l->inner; ++i) {
      uint64_t ka = l->keys[(o * l->n + (uint64_t)a) * l->inner + i];
      uint64_t kb = l->keys[(o * l->n + (uint64_t)b) * l->inner + i];
      if (ka != kb) return ka < kb ? -1 : 1;
    }
  return 0;
}

static int slice_less(const void* c, int64_t a, int64_t b) { return slice_cmp(c, a, b) < 0; }

static int first_less(const void* c, int64_t a, int64_t b) {
  const int64_t* first = c;
  return first[a] < first[b];
}

/* Unique elements (no axis) or slices along `axis`: Y, the index of each one's first
 * occurrence, the index in Y of every input element or slice, and how often each occurs. Y is
 * ascending when sorted=1, else in order of first occurrence. */
EAVE_DATA_OP(unique, "UNIQUE", 1, 1, "*|0III") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axis = 0, flat = (int64_t)eave_view_numel(x), *s, dims[R];
  const int64_t* xd = &flat;
  uint32_t rank = 1;
  if (eave_op_has(op, "axis")) {
    if (!x->rank) return EAVE_RUN_ERROR("a scalar input takes no axis");
    EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", 0), x->rank, &axis));
    xd = x->dims;
    rank = x->rank;
  }
  uint64_t n = (uint64_t)xd[axis], numel = (uint64_t)flat;
  lane l = {NULL, 0, 0, eave_numel((uint32_t)axis, xd), 0, n};
  l.inner = eave_numel(rank - (uint32_t)axis - 1, xd + axis + 1);
  /* Scratch: order, tmp, group of each slice, each group's first slice and count, the output
   * order of groups, each group's place in it; then the keys. */
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, 7 * n + numel, &s));
  int64_t *order = s, *tmp = s + n, *group = s + 2 * n, *first = s + 3 * n, *count = s + 4 * n;
  int64_t *out_order = s + 5 * n, *place = s + 6 * n;
  uint64_t* keys = (uint64_t*)(s + 7 * n);
  if (x->dtype == EAVE_DTYPE_STRING)
    EAVE_RETURN_IF_ERROR(eave_string_keys(op, x->data, numel, keys));
  else
    for (uint64_t i = 0; i < numel; ++i) keys[i] = eave_order_key(x->dtype, x->data, i);
  l.keys = keys;
  for (uint64_t j = 0; j < n; ++j) order[j] = (int64_t)j;
  /* Stable: each run of equal slices starts with the first occurrence. */
  eave_sort(order, tmp, n, slice_less, &l);
  int64_t m = 0;
  for (uint64_t p = 0; p < n; ++p) {
    int64_t j = order[p];
    if (!p || slice_cmp(&l, order[p - 1], j)) {
      first[m] = j;
      count[m++] = 0;
    }
    group[j] = m - 1;
    ++count[m - 1];
  }
  for (int64_t g = 0; g < m; ++g) out_order[g] = g;
  if (!eave_op_int(op, "sorted", 1)) eave_sort(out_order, tmp, (uint64_t)m, first_less, first);
  for (int64_t g = 0; g < m; ++g) place[out_order[g]] = g;

  eave_tensor_view y, ind, inv, cnt;
  memcpy(dims, xd, rank * 8);
  dims[axis] = m;
  int64_t nn = (int64_t)n;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &y));
  EAVE_RETURN_IF_ERROR(eave_out(op, 1, 1, &m, &ind));
  EAVE_RETURN_IF_ERROR(eave_out(op, 2, 1, &nn, &inv));
  EAVE_RETURN_IF_ERROR(eave_out(op, 3, 1, &m, &cnt));
  uint64_t block = l.inner * eave_dtype_size(x->dtype);
  for (uint64_t o = 0; !eave_empty(&y) && o < l.outer; ++o)
    for (int64_t g = 0; g < m; ++g)
      memcpy((uint8_t*)y.data + (o * (uint64_t)m + (uint64_t)g) * block,
             (const uint8_t*)x->data + (o * n + (uint64_t)first[out_order[g]]) * block, block);
  for (int64_t g = 0; g < m; ++g) {
    if (ind.data) ((int64_t*)ind.data)[g] = first[out_order[g]];
    if (cnt.data) ((int64_t*)cnt.data)[g] = count[out_order[g]];
  }
  for (uint64_t j = 0; inv.data && j < n; ++j) ((int64_t*)inv.data)[j] = place[group[j]];
  return NULL;
}
