/* Shape and data-movement builtins, after reference/shape.cc: Reshape, Flatten, Squeeze,
 * Unsqueeze, Identity (copies: the compiler makes them views unless the shape depends on data),
 * Transpose, Concat, Split, Slice, Pad, Expand, Tile, Shape, Size, Dropout, DepthToSpace,
 * SpaceToDepth, ReverseSequence and CenterCropPad. Each computes where every output element
 * comes from and moves elements by size, so one path serves every dtype. */
#include "data.h"

#define R EAVE_MAX_RANK

/* Output 0 holds input 0's bytes under new dims. */
static eave_status copy_as(eave_data_op* op, uint32_t rank, const int64_t* dims) {
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  if (out.data && out.bytes != op->in[0].bytes)
    return EAVE_RUN_ERROR("output has %llu bytes, input %llu", (unsigned long long)out.bytes,
                          (unsigned long long)op->in[0].bytes);
  if (out.data && out.data != op->in[0].data) memmove(out.data, op->in[0].data, out.bytes);
  return NULL;
}

/* Output 0 (`out_dims`) from input 0 through eave_gather_axes over `dims` (the output itself,
 * or a higher-rank view of it): table(op, info, d, t, n) fills axis d's n source offsets. */
typedef void (*table_fn)(const eave_data_op* op, const void* info, uint32_t d, int64_t* t,
                         int64_t n);

static eave_status gather_out(eave_data_op* op, uint32_t out_rank, const int64_t* out_dims,
                              uint32_t rank, const int64_t* dims, table_fn table, const void* info,
                              const void* fill) {
  eave_tensor_view out;
  int64_t* map;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, out_rank, out_dims, &out));
  if (eave_empty(&out)) return NULL;
  EAVE_RETURN_IF_ERROR(eave_axis_tables(op, rank, dims, &map));
  int64_t* t = map;
  for (uint32_t d = 0; d < rank; t += dims[d++]) table(op, info, d, t, dims[d]);
  eave_gather_axes(out.data, op->in[0].data, eave_dtype_size(out.dtype), rank, dims, map, fill);
  return NULL;
}

/* The common case: along axis d, coordinate o reads source offset start[d] + o * step[d]. */
typedef struct affine {
  int64_t start[2 * R], step[2 * R];
} affine;

static void affine_table(const eave_data_op* op, const void* info, uint32_t d, int64_t* t,
                         int64_t n) {
  const affine* a = info;
  for (int64_t o = 0; o < n; ++o) t[o] = a->start[d] + o * a->step[d];
}

static eave_status gather_affine(eave_data_op* op, uint32_t out_rank, const int64_t* out_dims,
                                 uint32_t rank, const int64_t* dims, const affine* a) {
  return gather_out(op, out_rank, out_dims, rank, dims, affine_table, a, NULL);
}

/* ---------------------------------------------------------------- reshaping */

EAVE_DATA_OP(reshape, "RESHAPE", 1, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t shape[R];
  int32_t n;
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "shape", 1, 5, shape, R, &n));
  if (n < 0) return EAVE_RUN_ERROR("the shape is required");
  int allow_zero = eave_op_int(op, "allowzero", 0) != 0;
  int32_t infer = -1;
  uint64_t known = 1, numel = eave_view_numel(x);
  for (int32_t i = 0; i < n; ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) return EAVE_RUN_ERROR("the shape has more than one -1");
      infer = i;
      continue;
    }
    if (shape[i] == 0 && !allow_zero) {
      if ((uint32_t)i >= x->rank)
        return EAVE_RUN_ERROR("shape entry %d is 0 (copy), but the input has rank %u", i, x->rank);
      shape[i] = x->dims[i];
    }
    if (shape[i] < 0) return EAVE_RUN_ERROR("the shape has a negative dimension other than -1");
    known *= (uint64_t)shape[i];
  }
  if (infer >= 0) {
    if (!known || numel % known)
      return EAVE_RUN_ERROR("cannot infer the -1 dimension for %llu elements",
                            (unsigned long long)numel);
    shape[infer] = (int64_t)(numel / known);
  }
  if (eave_numel((uint32_t)n, shape) != numel)
    return EAVE_RUN_ERROR("cannot reshape %llu elements to the given shape",
                          (unsigned long long)numel);
  return copy_as(op, (uint32_t)n, shape);
}

EAVE_DATA_OP(flatten, "FLATTEN", 1, 1, "*|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axis = eave_op_int(op, "axis", 1), rank = x->rank;
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return EAVE_RUN_ERROR("axis is out of range for rank %u", x->rank);
  int64_t dims[2] = {(int64_t)eave_numel((uint32_t)axis, x->dims), 0};
  dims[1] = (int64_t)eave_numel((uint32_t)(rank - axis), x->dims + axis);
  return copy_as(op, 2, dims);
}

EAVE_DATA_OP(squeeze, "SQUEEZE", 1, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axes[R], dims[R];
  int32_t n;
  uint8_t drop[R] = {0};
  uint32_t rank = 0;
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "axes", 1, 13, axes, R, &n));
  EAVE_RETURN_IF_ERROR(eave_axes(axes, n < 0 ? 0 : (uint32_t)n, x->rank));
  for (int32_t i = 0; i < n; ++i) {
    if (x->dims[axes[i]] != 1)
      return EAVE_RUN_ERROR("cannot squeeze axis %lld: its size is %lld", (long long)axes[i],
                            (long long)x->dims[axes[i]]);
    drop[axes[i]] = 1;
  }
  for (uint32_t d = 0; d < x->rank; ++d)
    if (n < 0 ? x->dims[d] != 1 : !drop[d]) dims[rank++] = x->dims[d];
  return copy_as(op, rank, dims);
}

EAVE_DATA_OP(unsqueeze, "UNSQUEEZE", 1, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t axes[R], dims[R];
  int32_t n;
  uint8_t inserted[R] = {0};
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "axes", 1, 13, axes, R, &n));
  if (n < 0) return EAVE_RUN_ERROR("axes are required");
  uint32_t rank = x->rank + (uint32_t)n, next = 0;
  if (rank > R) return EAVE_RUN_ERROR("the output would have rank %u, above %u", rank, R);
  EAVE_RETURN_IF_ERROR(eave_axes(axes, (uint32_t)n, rank));
  for (int32_t i = 0; i < n; ++i) inserted[axes[i]] = 1;
  for (uint32_t d = 0; d < rank; ++d) dims[d] = inserted[d] ? 1 : x->dims[next++];
  return copy_as(op, rank, dims);
}

EAVE_DATA_OP(identity, "IDENTITY", 1, 1, "*|0") {
  return copy_as(op, op->in[0].rank, op->in[0].dims);
}

/* ---------------------------------------------------------------- transpose */

EAVE_DATA_OP(transpose, "TRANSPOSE", 1, 1, "*|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t perm[R], dims[R], xs[R];
  int32_t n;
  affine a;
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "perm", 0, UINT32_MAX, perm, R, &n));
  if (n < 0)
    for (n = 0; (uint32_t)n < x->rank; ++n) perm[n] = x->rank - 1 - n;
  if ((uint32_t)n != x->rank) return EAVE_RUN_ERROR("perm does not match rank %u", x->rank);
  EAVE_RETURN_IF_ERROR(eave_axes(perm, (uint32_t)n, x->rank));
  eave_strides(x->rank, x->dims, xs);
  for (uint32_t d = 0; d < x->rank; ++d) {
    dims[d] = x->dims[perm[d]];
    a.start[d] = 0;
    a.step[d] = xs[perm[d]];
  }
  return gather_affine(op, x->rank, dims, x->rank, dims, &a);
}

/* ---------------------------------------------------------------- concat, split, slice */

EAVE_DATA_OP(concat, "CONCAT", 1, 1, "*0+|0") {
  eave_builtin_ctx* ctx = op->ctx;
  const eave_tensor_view* first = &op->in[0];
  uint32_t rank = first->rank;
  int64_t axis, dims[R];
  if (!rank) return EAVE_RUN_ERROR("cannot concatenate scalars");
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", op->opset < 4 ? 1 : 0), rank, &axis));
  memcpy(dims, first->dims, rank * sizeof *dims);
  dims[axis] = 0;
  for (uint32_t i = 0; i < op->inputs; ++i) {
    eave_tensor_view t;
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, i, &t));
    int same = t.rank == rank;
    for (uint32_t d = 0; same && d < rank; ++d) same = d == axis || t.dims[d] == first->dims[d];
    if (!same)
      return EAVE_RUN_ERROR("input %u does not match input 0 outside axis %lld", i,
                            (long long)axis);
    dims[axis] += t.dims[axis];
  }
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t es = eave_dtype_size(out.dtype), outer = eave_numel((uint32_t)axis, dims);
  uint64_t inner = es * eave_numel(rank - (uint32_t)axis - 1, dims + axis + 1), at = 0;
  for (uint32_t i = 0; i < op->inputs; ++i) {
    eave_tensor_view t;
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, i, &t));
    uint64_t block = (uint64_t)t.dims[axis] * inner;
    eave_copy_blocks((uint8_t*)out.data + at, (uint64_t)dims[axis] * inner, t.data, block, outer,
                     block);
    at += block;
  }
  return NULL;
}

EAVE_DATA_OP(split, "SPLIT", 1, 1, "*n|0+") {
  const eave_tensor_view* x = &op->in[0];
  uint32_t outs = eave_builtin_step(op->ctx)->output_count;
  int64_t axis, *sizes, dims[R];
  int32_t n = -1;
  if (!x->rank) return EAVE_RUN_ERROR("cannot split a scalar");
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "axis", 0), x->rank, &axis));
  int64_t len = x->dims[axis];
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, outs, &sizes));
  /* The sizes are an input in Split-1 and since Split-13, an attribute in between. */
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "split", 1, 13, sizes, outs, &n));
  if (n < 0 && op->opset < 2)
    EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "split", sizes, outs, &n));
  if (n >= 0) {
    int64_t total = 0;
    if ((uint32_t)n != outs) return EAVE_RUN_ERROR("split has %d entries for %u outputs", n, outs);
    for (int32_t i = 0; i < n; ++i) {
      if (sizes[i] < 0 || sizes[i] > len) return EAVE_RUN_ERROR("split has a bad size");
      total += sizes[i];
    }
    if (total != len)
      return EAVE_RUN_ERROR("split sums to %lld, but axis %lld has size %lld", (long long)total,
                            (long long)axis, (long long)len);
  } else {
    int64_t parts = eave_op_int(op, "num_outputs", outs);
    if (parts != outs)
      return EAVE_RUN_ERROR("num_outputs is %lld but the node has %u outputs", (long long)parts,
                            outs);
    /* Since opset 18 the last chunk may be smaller; before, the split must be even. */
    int64_t chunk = (len + outs - 1) / outs;
    if (op->opset < 18 && len % outs)
      return EAVE_RUN_ERROR("axis %lld (size %lld) cannot be split into %u equal parts",
                            (long long)axis, (long long)len, outs);
    for (uint32_t i = 0; i < outs; ++i) {
      int64_t left = len - i * chunk;
      sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
    }
  }
  uint64_t es = eave_dtype_size(x->dtype), outer = eave_numel((uint32_t)axis, x->dims);
  uint64_t inner = es * eave_numel(x->rank - (uint32_t)axis - 1, x->dims + axis + 1), at = 0;
  memcpy(dims, x->dims, x->rank * sizeof *dims);
  for (uint32_t i = 0; i < outs; ++i) {
    eave_tensor_view out;
    dims[axis] = sizes[i];
    EAVE_RETURN_IF_ERROR(eave_out(op, i, x->rank, dims, &out));
    uint64_t block = (uint64_t)sizes[i] * inner;
    if (out.data)
      eave_copy_blocks(out.data, block, (const uint8_t*)x->data + at, (uint64_t)len * inner, outer,
                       block);
    at += block;
  }
  return NULL;
}

EAVE_DATA_OP(slice, "SLICE", 1, 1, "*nnnn|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t starts[R], ends[R], axes[R], steps[R], dims[R], xs[R];
  int32_t ns, ne, na, nt = -1;
  affine a;
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "starts", 1, 10, starts, R, &ns));
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "ends", 2, 10, ends, R, &ne));
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "axes", 3, 10, axes, R, &na));
  if (op->opset >= 10) EAVE_RETURN_IF_ERROR(eave_op_ints(op, "steps", 4, 10, steps, R, &nt));
  if (ns < 0 || ne < 0) return EAVE_RUN_ERROR("starts and ends are required");
  if (na < 0)
    for (na = 0; na < ns; ++na) axes[na] = na;
  if (nt < 0)
    for (nt = 0; nt < ns; ++nt) steps[nt] = 1;
  if (ne != ns || na != ns || nt != ns)
    return EAVE_RUN_ERROR(
        "starts, ends, axes and steps must have the same length, got %d, %d, "
        "%d and %d",
        ns, ne, na, nt);
  EAVE_RETURN_IF_ERROR(eave_axes(axes, (uint32_t)na, x->rank));
  eave_strides(x->rank, x->dims, xs);
  for (uint32_t d = 0; d < x->rank; ++d) {
    dims[d] = x->dims[d];
    a.start[d] = 0;
    a.step[d] = xs[d];
  }
  for (int32_t i = 0; i < ns; ++i) {
    int64_t d = axes[i], n = x->dims[d], st = steps[i];
    if (!st) return EAVE_RUN_ERROR("step for axis %lld is 0", (long long)d);
    /* Negative positions count from the end; then clamp to what the step direction allows. */
    int64_t b = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
    int64_t lo = st > 0 ? 0 : -1, hi = st > 0 ? n : n - 1;
    b = b < lo ? lo : b > hi ? hi : b;
    e = e < lo ? lo : e > hi ? hi : e;
    if (st > 0)
      dims[d] = e > b ? 1 + (int64_t)((uint64_t)(e - b - 1) / (uint64_t)st) : 0;
    else
      dims[d] = b > e ? 1 + (int64_t)((uint64_t)(b - e - 1) / (0 - (uint64_t)st)) : 0;
    a.start[d] = b * xs[d];
    a.step[d] = dims[d] > 1 ? st * xs[d] : 0;
  }
  return gather_affine(op, x->rank, dims, x->rank, dims, &a);
}

/* ---------------------------------------------------------------- pad, crop */

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_info {
  int mode;
  int64_t begin[R], keep_from[R], keep[R], xs[R];
} pad_info;

/* Where output coordinate o of axis d reads from, or -1 for the constant. */
static void pad_table(const eave_data_op* op, const void* info, uint32_t d, int64_t* t, int64_t n) {
  const pad_info* p = info;
  int64_t m = p->keep[d];
  for (int64_t o = 0; o < n; ++o) {
    int64_t c = o - (p->begin[d] > 0 ? p->begin[d] : 0);
    if (c < 0 || c >= m) {
      if (p->mode == PAD_CONSTANT) {
        t[o] = -1;
        continue;
      }
      if (p->mode == PAD_EDGE)
        c = c < 0 ? 0 : m - 1;
      else if (p->mode == PAD_WRAP)
        c = (c % m + m) % m;
      else if (m == 1)
        c = 0;
      else {
        /* Mirror without repeating the edge: period 2(m-1), as NumPy's 'reflect'. */
        int64_t period = 2 * (m - 1);
        c = (c % period + period) % period;
        if (c >= m) c = period - c;
      }
    }
    t[o] = (p->keep_from[d] + c) * p->xs[d];
  }
}

EAVE_DATA_OP(pad, "PAD", 1, 1, "*n0n|0") {
  const eave_tensor_view* x = &op->in[0];
  static const char* const modes[] = {"constant", "reflect", "edge", "wrap"};
  pad_info p;
  int64_t pads[2 * R], axes[R], dims[R];
  int32_t n, na = -1;
  uint8_t value[8] = {0};
  p.mode = eave_op_enum(op, "mode", "constant", modes, 4);
  if (p.mode < 0) return EAVE_RUN_ERROR("unknown mode (expected constant, reflect, edge or wrap)");
  EAVE_RETURN_IF_ERROR(
      eave_op_ints(op, op->opset < 2 ? "paddings" : "pads", 1, 11, pads, 2 * R, &n));
  if (n < 0) return EAVE_RUN_ERROR("pads are required");
  if (op->opset < 11) {
    eave_elem_set_f64(x->dtype, value, 0, eave_op_float(op, "value", 0));
  } else if (op->in[2].data) {
    if (eave_view_numel(&op->in[2]) != 1)
      return EAVE_RUN_ERROR("constant_value must hold one element");
    memcpy(value, op->in[2].data, eave_dtype_size(x->dtype));
  }
  if (op->opset >= 18) EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[3], "axes", axes, R, &na));
  if (na < 0)
    for (na = 0; (uint32_t)na < x->rank; ++na) axes[na] = na;
  EAVE_RETURN_IF_ERROR(eave_axes(axes, (uint32_t)na, x->rank));
  if (n != 2 * na)
    return EAVE_RUN_ERROR("pads must have %d entries (begin and end per axis)", 2 * na);
  int64_t end[R] = {0};
  memset(p.begin, 0, sizeof p.begin);
  for (int32_t i = 0; i < na; ++i) {
    p.begin[axes[i]] = pads[i];
    end[axes[i]] = pads[i + na];
  }
  /* Negative pads crop: [keep_from, keep_from + keep) of the input is kept, the mode fills
   * around it. */
  eave_strides(x->rank, x->dims, p.xs);
  for (uint32_t d = 0; d < x->rank; ++d) {
    int64_t b = p.begin[d], e = end[d];
    if (b > INT64_MAX / 4 || e > INT64_MAX / 4 || b < -x->dims[d] || e < -x->dims[d])
      return EAVE_RUN_ERROR("pads for axis %u are out of range", d);
    dims[d] = x->dims[d] + b + e;
    p.keep_from[d] = b < 0 ? -b : 0;
    p.keep[d] = x->dims[d] - p.keep_from[d] - (e < 0 ? -e : 0);
    if (p.keep[d] < 0) return EAVE_RUN_ERROR("pads crop more than axis %u holds", d);
    if (p.mode != PAD_CONSTANT && dims[d] > p.keep[d] && !p.keep[d])
      return EAVE_RUN_ERROR("cannot pad axis %u, which is empty, in this mode", d);
  }
  return gather_out(op, x->rank, dims, x->rank, dims, pad_table, &p, value);
}

typedef struct shift_info {
  int64_t shift[R], xs[R];
  const int64_t* in;
} shift_info;

static void shift_table(const eave_data_op* op, const void* info, uint32_t d, int64_t* t,
                        int64_t n) {
  const shift_info* s = info;
  for (int64_t o = 0; o < n; ++o) {
    int64_t c = o + s->shift[d];
    t[o] = c >= 0 && c < s->in[d] ? c * s->xs[d] : -1;
  }
}

EAVE_DATA_OP(center_crop_pad, "CENTER_CROP_PAD", 2, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t shape[R], axes[R], dims[R];
  int32_t n, na = -1;
  shift_info s = {{0}, {0}, x->dims};
  static const uint8_t zero[8];
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "shape", shape, R, &n));
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "axes", 0, UINT32_MAX, axes, R, &na));
  if (na < 0)
    for (na = 0; (uint32_t)na < x->rank; ++na) axes[na] = na;
  EAVE_RETURN_IF_ERROR(eave_axes(axes, (uint32_t)na, x->rank));
  if (n != na) return EAVE_RUN_ERROR("shape must have one entry per axis (%d)", na);
  memcpy(dims, x->dims, x->rank * sizeof *dims);
  /* Output coordinate o reads o + shift: a crop shifts forward, a pad back, both by half the
   * difference rounded down. */
  for (int32_t i = 0; i < n; ++i) {
    if (shape[i] < 0) return EAVE_RUN_ERROR("shape has a negative entry");
    int64_t diff = x->dims[axes[i]] - shape[i];
    s.shift[axes[i]] = diff >= 0 ? diff / 2 : -(-diff / 2);
    dims[axes[i]] = shape[i];
  }
  eave_strides(x->rank, x->dims, s.xs);
  return gather_out(op, x->rank, dims, x->rank, dims, shift_table, &s, zero);
}

/* ---------------------------------------------------------------- expand, tile */

EAVE_DATA_OP(expand, "EXPAND", 2, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t shape[R], dims[R], xs[R];
  int32_t n;
  affine a;
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "shape", shape, R, &n));
  uint32_t rank = (uint32_t)n > x->rank ? (uint32_t)n : x->rank;
  uint32_t xo = rank - x->rank, so = rank - (uint32_t)n;
  eave_strides(x->rank, x->dims, xs);
  for (uint32_t d = 0; d < rank; ++d) {
    int64_t xd = d >= xo ? x->dims[d - xo] : 1, sd = d >= so ? shape[d - so] : 1;
    if (sd < 0 || (xd != sd && xd != 1 && sd != 1))
      return EAVE_RUN_ERROR("cannot broadcast the input's axis of size %lld to %lld", (long long)xd,
                            (long long)sd);
    dims[d] = xd == 1 ? sd : xd;
    a.start[d] = 0;
    a.step[d] = xd == 1 ? 0 : xs[d - xo];
  }
  return gather_affine(op, rank, dims, rank, dims, &a);
}

static void tile_table(const eave_data_op* op, const void* info, uint32_t d, int64_t* t,
                       int64_t n) {
  const int64_t* xs = info;
  for (int64_t o = 0; o < n; ++o) t[o] = o % op->in[0].dims[d] * xs[d];
}

EAVE_DATA_OP(tile, "TILE", 2, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t repeats[R], dims[R], xs[R];
  int32_t n;
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "repeats", repeats, R, &n));
  if ((uint32_t)n != x->rank) return EAVE_RUN_ERROR("repeats must have one entry per axis");
  for (uint32_t d = 0; d < x->rank; ++d) {
    if (repeats[d] < 0 || (x->dims[d] && repeats[d] > INT64_MAX / 4 / x->dims[d]))
      return EAVE_RUN_ERROR("repeats has a bad entry for axis %u", d);
    dims[d] = x->dims[d] * repeats[d];
  }
  eave_strides(x->rank, x->dims, xs);
  return gather_out(op, x->rank, dims, x->rank, dims, tile_table, xs, NULL);
}

/* ---------------------------------------------------------------- shape, size */

EAVE_DATA_OP(shape, "SHAPE", 1, 1, "*|I") {
  const eave_tensor_view* x = &op->in[0];
  int64_t rank = x->rank, ends[2] = {eave_op_int(op, "start", 0), eave_op_int(op, "end", rank)};
  for (int i = 0; i < 2; ++i) {
    int64_t p = ends[i] < 0 ? ends[i] + rank : ends[i];
    ends[i] = p < 0 ? 0 : p > rank ? rank : p;
  }
  int64_t len = ends[1] > ends[0] ? ends[1] - ends[0] : 0;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, 1, &len, &out));
  if (out.data) memcpy(out.data, x->dims + ends[0], (size_t)len * 8);
  return NULL;
}

EAVE_DATA_OP(size, "SIZE", 1, 1, "*|I") {
  int64_t n = (int64_t)eave_view_numel(&op->in[0]);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, 0, NULL, &out));
  if (out.data) memcpy(out.data, &n, 8);
  return NULL;
}

/* ---------------------------------------------------------------- dropout */

/* Uniform draws in [0, 1) from MT19937 seeded with `seed`, two 32-bit outputs each, as NumPy's
 * legacy RandomState makes them (the ONNX backend tests come from NumPy), in `u`. */
static void uniform_draws(uint32_t seed, double* u, uint64_t n) {
  uint32_t mt[624];
  mt[0] = seed;
  for (uint32_t i = 1; i < 624; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
  uint32_t next = 624, w[2];
  for (uint64_t k = 0; k < n; ++k) {
    for (int h = 0; h < 2; ++h) {
      if (next == 624) {
        for (uint32_t i = 0; i < 624; ++i) {
          uint32_t y = (mt[i] & 0x80000000u) | (mt[(i + 1) % 624] & 0x7fffffffu);
          mt[i] = mt[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
        }
        next = 0;
      }
      uint32_t y = mt[next++];
      y ^= y >> 11;
      y ^= (y << 7) & 0x9d2c5680u;
      y ^= (y << 15) & 0xefc60000u;
      w[h] = y ^ (y >> 18);
    }
    u[k] = ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6)) / 9007199254740992.0;
  }
}

EAVE_DATA_OP(dropout, "DROPOUT", 1, 1, "*xb|0*") {
  const eave_tensor_view* x = &op->in[0];
  double ratio = 0.5, t = 0, *u = NULL;
  int training;
  if (op->opset >= 12) {
    if (op->in[1].data) EAVE_RETURN_IF_ERROR(eave_scalar_f64(&op->in[1], "ratio", &ratio));
    if (op->in[2].data) EAVE_RETURN_IF_ERROR(eave_scalar_f64(&op->in[2], "training_mode", &t));
    training = t != 0;
  } else {
    ratio = eave_op_float(op, "ratio", 0.5);
    training = op->opset < 7 && eave_op_int(op, "is_test", 0) == 0;
  }
  if (!(ratio >= 0 && ratio < 1)) return EAVE_RUN_ERROR("ratio must be in [0, 1), got %g", ratio);
  uint64_t numel = eave_view_numel(x);
  eave_tensor_view out, mask;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, &out));
  EAVE_RETURN_IF_ERROR(eave_out(op, 1, x->rank, x->dims, &mask));
  if (training && ratio > 0) {
    /* The spec lets a missing seed be chosen freely; like the reference, use 0. */
    if (!eave_dtype_is_float(x->dtype)) return EAVE_RUN_ERROR("training needs float data");
    EAVE_RETURN_IF_ERROR(eave_builtin_scratch(op->ctx, numel * 8 + 8, (void**)&u));
    uniform_draws((uint32_t)eave_op_int(op, "seed", 0), u, numel);
  }
  for (uint64_t i = 0; u && i < numel; ++i)
    if (out.data)
      eave_elem_set_f64(x->dtype, out.data, i,
                        u[i] >= ratio ? eave_elem_f64(x->dtype, x->data, i) / (1 - ratio) : 0);
  if (!u && out.data && out.data != x->data) memmove(out.data, x->data, out.bytes);
  for (uint64_t i = 0; mask.data && i < numel; ++i)
    eave_elem_set_i64(mask.dtype, mask.data, i, !u || u[i] >= ratio);
  return NULL;
}

/* ---------------------------------------------------------------- rearrangement */

/* DepthToSpace and SpaceToDepth are 6-D transposes: the output viewed as `six` dims reads the
 * input at the offsets `step` gives per axis. */
static eave_status block_rearrange(eave_data_op* op, int to_space) {
  const eave_tensor_view* x = &op->in[0];
  if (x->rank != 4) return EAVE_RUN_ERROR("input must be 4-D (N,C,H,W)");
  int64_t b = eave_op_int(op, "blocksize", 0), n = x->dims[0], c = x->dims[1], h = x->dims[2];
  int64_t w = x->dims[3], dims[4], six[6];
  affine a = {{0}};
  if (b <= 0 || b > 65536) return EAVE_RUN_ERROR("blocksize must be positive");
  if (to_space) {
    if (c % (b * b)) return EAVE_RUN_ERROR("channels must be divisible by blocksize^2");
    int64_t co = c / (b * b), hw = h * w;
    int crd = eave_op_str(op, "mode", "DCR", "CRD");
    int64_t d4[4] = {n, co, h * b, w * b}, s6[6] = {n, co, h, b, w, b};
    /* DCR: depth is (block row, block column, channel); CRD: (channel, row, column). */
    int64_t st[6] = {c * hw, crd ? b * b * hw : hw, w, crd ? b * hw : b * co * hw,
                     1,      crd ? hw : co * hw};
    memcpy(dims, d4, sizeof d4);
    memcpy(six, s6, sizeof s6);
    memcpy(a.step, st, sizeof st);
  } else {
    if (h % b || w % b) return EAVE_RUN_ERROR("height and width must be divisible by blocksize");
    int64_t d4[4] = {n, c * b * b, h / b, w / b}, s6[6] = {n, b, b, c, h / b, w / b};
    int64_t st[6] = {c * h * w, w, 1, h * w, b * w, b};
    memcpy(dims, d4, sizeof d4);
    memcpy(six, s6, sizeof s6);
    memcpy(a.step, st, sizeof st);
  }
  return gather_affine(op, 4, dims, 6, six, &a);
}

EAVE_DATA_OP(depth_to_space, "DEPTH_TO_SPACE", 1, 1, "*|0") { return block_rearrange(op, 1); }
EAVE_DATA_OP(space_to_depth, "SPACE_TO_DEPTH", 1, 1, "*|0") { return block_rearrange(op, 0); }

EAVE_DATA_OP(reverse_sequence, "REVERSE_SEQUENCE", 2, 1, "*n|0") {
  const eave_tensor_view* x = &op->in[0];
  const eave_tensor_view* lens = &op->in[1];
  int64_t ba, ta;
  if (x->rank < 2) return EAVE_RUN_ERROR("input must have rank >= 2");
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "batch_axis", 1), 2, &ba));
  EAVE_RETURN_IF_ERROR(eave_axis(eave_op_int(op, "time_axis", 0), 2, &ta));
  if (ba == ta) return EAVE_RUN_ERROR("batch_axis and time_axis must differ");
  int64_t batch = x->dims[ba], steps = x->dims[ta];
  if (lens->rank != 1 || lens->dims[0] != batch)
    return EAVE_RUN_ERROR("sequence_lens must have one entry per batch element (%lld)",
                          (long long)batch);
  for (int64_t i = 0; i < batch; ++i) {
    int64_t l = eave_elem_i64(lens->dtype, lens->data, (uint64_t)i);
    if (l < 0 || l > steps)
      return EAVE_RUN_ERROR("sequence length %lld is outside [0, %lld]", (long long)l,
                            (long long)steps);
  }
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->dims, &out));
  if (eave_empty(&out)) return NULL;
  uint64_t block = eave_dtype_size(x->dtype) * eave_numel(x->rank - 2, x->dims + 2);
  for (int64_t i = 0; i < x->dims[0]; ++i)
    for (int64_t j = 0; j < x->dims[1]; ++j) {
      int64_t bt[2] = {i, j};
      int64_t len = eave_elem_i64(lens->dtype, lens->data, (uint64_t)bt[ba]);
      if (bt[ta] < len) bt[ta] = len - 1 - bt[ta];
      memcpy((uint8_t*)out.data + (uint64_t)(i * x->dims[1] + j) * block,
             (const uint8_t*)x->data + (uint64_t)(bt[0] * x->dims[1] + bt[1]) * block, block);
    }
  return NULL;
}
