/* CONV, CONV_TRANSPOSE, CONV_INTEGER, QLINEAR_CONV and DEFORM_CONV: N-D convolutions of X
 * (N, C, D1, ..., Dn) with one core. For each batch entry and output position the op gathers
 * what its kernel sees into a column, C x kernel size (zero where the window is in the
 * padding); each group's output channels are then its weights, laid out [M][C / group][kernel],
 * times its part of the columns, a matrix product over a tile of positions at a time (every
 * sum still runs over channel and kernel position in order). The ops differ only in the gather
 * (window taps, transposed taps, or DeformConv's bilinear samples at learned offsets) and in
 * what becomes of the sum (bias, int32, requantization). Floats compute in f32 (f64 for f64
 * tensors); the integer ops in f64, exact for any realistic reduction length. */
#include <math.h>
#include <string.h>

#include "nn.h"

typedef struct conv_desc {
  uint32_t id;
  const char* name;
  uint8_t w, b, min_in, max_in; /* operand positions of W and B (0: none), input counts */
} conv_desc;

static const conv_desc descs[] = {
    {EAVE_BUILTIN_CONV, "Conv", 1, 2, 2, 3},
    {EAVE_BUILTIN_CONV_TRANSPOSE, "ConvTranspose", 1, 2, 2, 3},
    {EAVE_BUILTIN_CONV_INTEGER, "ConvInteger", 1, 0, 2, 4},
    {EAVE_BUILTIN_QLINEAR_CONV, "QLinearConv", 3, 8, 8, 9},
    {EAVE_BUILTIN_DEFORM_CONV, "DeformConv", 1, 3, 3, 5},
};

static const conv_desc* find_desc(uint32_t id) {
  for (size_t i = 0; i < sizeof descs / sizeof descs[0]; ++i)
    if (descs[i].id == id) return &descs[i];
  return &descs[0];
}

static int is_8bit(eave_dtype t) { return t == EAVE_DTYPE_U8 || t == EAVE_DTYPE_I8; }

eave_status eave_builtin_conv_check(const eave_model* m, const eave_step* step,
                                    const uint8_t* params) {
  const conv_desc* d = find_desc(step->id);
  EAVE_RETURN_IF_ERROR(
      eave_nn_check_operands(m, step, d->name, d->min_in, d->max_in, d->min_in, 1));
  uint32_t out = step->input_count, r = eave_nn_rank(m, step, 0);
  eave_dtype x = eave_nn_dtype(m, step, 0), w = eave_nn_dtype(m, step, d->w);
  eave_dtype y = eave_nn_dtype(m, step, out);
  if (r < 3 || eave_nn_rank(m, step, d->w) != r || eave_nn_rank(m, step, out) != r)
    return EAVE_INVALID("%s: X, W and Y must have the same rank, at least 3", d->name);
  int ok;
  switch (step->id) {
    case EAVE_BUILTIN_CONV_INTEGER:
      ok = is_8bit(x) && is_8bit(w) && y == EAVE_DTYPE_I32 && eave_nn_absent_or(m, step, 2, x) &&
           eave_nn_absent_or(m, step, 3, w);
      break;
    case EAVE_BUILTIN_QLINEAR_CONV:
      ok = is_8bit(x) && is_8bit(w) && eave_nn_dtype(m, step, 2) == x &&
           eave_nn_dtype(m, step, 5) == w && eave_nn_dtype(m, step, 7) == y &&
           (is_8bit(y) || y == EAVE_DTYPE_U16 || y == EAVE_DTYPE_I16) &&
           eave_nn_absent_or(m, step, 8, EAVE_DTYPE_I32) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 1)) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 4)) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 6));
      break;
    default:
      ok = eave_dtype_is_float(x) && y == x;
      for (uint32_t k = 1; k < step->input_count; ++k) ok &= eave_nn_absent_or(m, step, k, x);
  }
  return ok ? NULL : EAVE_INVALID("%s: unsupported element types", d->name);
}

typedef struct conv {
  uint32_t id;
  eave_tensor_view x, w, b, y; /* b.data is NULL without a bias */
  int64_t batch, c_in, m_out, cg, mg;
  eave_nn_window win;
  eave_nn_kind kind;
  const void* wk; /* weights [m_out][cg][kernel] in `kind`, zero points subtracted */
  double x_zp;
  double x_scale, y_scale, y_zp; /* QLinearConv */
  eave_tensor_view w_scale;
  eave_tensor_view offset, mask; /* DeformConv; mask.data NULL without one */
  int64_t offset_group;
} conv;

static void put(eave_nn_kind kind, void* p, int64_t i, double v) {
  if (kind == EAVE_NN_F32)
    ((float*)p)[i] = (float)v;
  else
    ((double*)p)[i] = v;
}

static void* at(eave_nn_kind kind, const void* p, int64_t i) {
  return (uint8_t*)p + i * (kind == EAVE_NN_F32 ? 4 : 8);
}

/* Output geometry of ConvTranspose, as a window whose taps are transposed: input position i
 * feeds output i * stride - pad_begin + k * dilation. */
static eave_status transposed_window(const uint8_t* params, uint32_t size, uint32_t rank,
                                     const int64_t* in, const int64_t* kernel, eave_nn_window* w) {
  int64_t out_pad[EAVE_NN_MAX_SPATIAL], pads[2 * EAVE_NN_MAX_SPATIAL], shape[EAVE_MAX_RANK];
  memset(w, 0, sizeof *w);
  w->rank = rank;
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "strides", rank, 1, 1, 1, w->stride));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "dilations", rank, 1, 1, 1, w->dilation));
  EAVE_RETURN_IF_ERROR(
      eave_nn_spatial_attr(params, size, "output_padding", rank, 1, 0, 0, out_pad));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "pads", rank, 2, 0, 0, pads));
  int upper = eave_attr_string_is(params, size, "auto_pad", "SAME_UPPER", 0);
  int lower = eave_attr_string_is(params, size, "auto_pad", "SAME_LOWER", 0);
  int valid = eave_attr_string_is(params, size, "auto_pad", "VALID", 0);
  eave_attr os;
  int has_shape = eave_attrs_find(params, size, "output_shape", &os);
  if (has_shape) {
    /* Some exporters give the full (N, C, spatial...) shape. */
    uint32_t skip = os.n == rank + 2 ? 2 : 0;
    EAVE_RETURN_IF_ERROR(
        eave_nn_spatial_attr(params, size, "output_shape", rank + skip, 1, 0, 0, shape));
    memmove(shape, shape + skip, rank * sizeof *shape);
  }
  for (uint32_t d = 0; d < rank; ++d) {
    if (in[d] >= ((int64_t)1 << 31) || kernel[d] >= ((int64_t)1 << 31))
      return EAVE_RUN_ERROR("spatial axis %u is too large", d);
    int64_t full = w->stride[d] * (in[d] - 1) + out_pad[d] + (kernel[d] - 1) * w->dilation[d] + 1;
    if (has_shape || upper || lower) {
      /* Cut the surplus evenly; the odd element comes off the end for SAME_UPPER, else off
       * the beginning. */
      w->out[d] = has_shape ? shape[d] : in[d] * w->stride[d];
      int64_t total = full > w->out[d] ? full - w->out[d] : 0;
      w->pad_begin[d] = upper ? total / 2 : total - total / 2;
    } else {
      int64_t pb = valid ? 0 : pads[d], pe = valid ? 0 : pads[d + rank];
      w->out[d] = full - pb - pe;
      w->pad_begin[d] = pb;
    }
    if (w->out[d] < 0) return EAVE_RUN_ERROR("the padding removes more than axis %u holds", d);
    w->in[d] = in[d];
    w->kernel[d] = kernel[d];
  }
  w->in_size = eave_nn_prod(w->in, rank);
  w->out_size = eave_nn_prod(w->out, rank);
  w->kernel_size = eave_nn_prod(w->kernel, rank);
  return NULL;
}

/* c->wk: the weights as [m_out][cg][kernel] in c->kind, less zero point zp (one value or one
 * per output channel). Conv's own layout is used in place when no conversion is needed. */
static eave_status load_weights(eave_builtin_ctx* ctx, conv* c, const eave_tensor_view* zp) {
  int transposed = c->id == EAVE_BUILTIN_CONV_TRANSPOSE;
  if (!transposed && !zp->data && eave_nn_kind_of(c->w.dtype) == c->kind)
    return eave_nn_load(ctx, &c->w, c->kind, &c->wk);
  int64_t k_size = c->win.kernel_size, per_m = c->cg * k_size;
  if (zp->data && eave_nn_numel(zp) != 1 &&
      (zp->rank > 1 || eave_nn_numel(zp) != (uint64_t)c->m_out))
    return EAVE_RUN_ERROR("the weights' zero point must be one value or one per output channel");
  void* wk;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)c->m_out, (uint64_t)per_m, 8, &wk));
  for (int64_t m = 0; m < c->m_out; ++m) {
    double z = zp->data ? eave_elem_f64(zp->dtype, zp->data, eave_nn_numel(zp) == 1 ? 0 : m) : 0;
    int64_t g = m / c->mg;
    for (int64_t j = 0; j < per_m; ++j) {
      int64_t ch = j / k_size, k = j % k_size;
      int64_t src =
          transposed ? ((g * c->cg + ch) * c->mg + m % c->mg) * k_size + k : m * per_m + j;
      put(c->kind, wk, m * per_m + j, eave_elem_f64(c->w.dtype, c->w.data, src) - z);
    }
  }
  c->wk = wk;
  return NULL;
}

/* x at fractional spatial position p of the plane at `base`, by multilinear interpolation
 * over the 2^rank corners around p; corners outside the input read as zero. */
static double sample(const conv* c, int64_t base, const double* p) {
  const eave_nn_window* w = &c->win;
  for (uint32_t d = 0; d < w->rank; ++d)
    if (!(p[d] > -1 && p[d] < (double)w->in[d])) return 0; /* no corner inside (or NaN) */
  double v = 0;
  for (uint32_t corner = 0; corner < (1u << w->rank); ++corner) {
    double weight = 1;
    int64_t off = 0;
    uint32_t d = 0;
    for (; d < w->rank; ++d) {
      double lo = floor(p[d]);
      int high = (corner >> d) & 1;
      int64_t i = (int64_t)lo + high;
      if (i < 0 || i >= w->in[d]) break;
      weight *= high ? p[d] - lo : 1 - (p[d] - lo);
      off = off * w->in[d] + i;
    }
    if (d == w->rank && weight != 0) v += weight * eave_elem_f64(c->x.dtype, c->x.data, base + off);
  }
  return v;
}

/* Column p of `col` (rows C x kernel size, `cols` wide): what batch entry n sees at output
 * position o (flat pos). Row ch * kernel_size + k is input channel ch at kernel position k. */
static void gather(const conv* c, int64_t n, const int64_t* o, int64_t pos, void* col, int64_t p,
                   int64_t cols, eave_nn_tap* taps) {
  const eave_nn_window* w = &c->win;
  int64_t k_size = w->kernel_size;
  if (c->id == EAVE_BUILTIN_DEFORM_CONV) {
    /* offset (N, offset_group * kernel * rank, out...) displaces each kernel position;
     * mask (N, offset_group * kernel, out...) scales each sample. */
    int64_t per_group = c->c_in / c->offset_group, rank = w->rank;
    int64_t kk[EAVE_NN_MAX_SPATIAL] = {0};
    double at[EAVE_NN_MAX_SPATIAL];
    for (int64_t k = 0; k < k_size; ++k, eave_nn_next_index(w->rank, w->kernel, kk)) {
      for (int64_t ch = 0; ch < c->c_in; ++ch) {
        int64_t og = ch / per_group;
        for (int64_t d = 0; d < rank; ++d) {
          int64_t oc = ((n * c->offset_group + og) * k_size + k) * rank + d;
          at[d] = (double)(o[d] * w->stride[d] - w->pad_begin[d] + kk[d] * w->dilation[d]) +
                  eave_elem_f64(c->offset.dtype, c->offset.data, oc * w->out_size + pos);
        }
        double v = sample(c, (n * c->c_in + ch) * w->in_size, at);
        if (c->mask.data)
          v *= eave_elem_f64(c->mask.dtype, c->mask.data,
                             ((n * c->offset_group + og) * k_size + k) * w->out_size + pos);
        put(c->kind, col, (ch * k_size + k) * cols + p, v);
      }
    }
    return;
  }
  int64_t count = eave_nn_window_taps(w, o, c->id == EAVE_BUILTIN_CONV_TRANSPOSE, taps);
  for (int64_t ch = 0; ch < c->c_in; ++ch) {
    int64_t base = (n * c->c_in + ch) * w->in_size;
    for (int64_t t = 0; t < count; ++t)
      put(c->kind, col, (ch * k_size + taps[t].k) * cols + p,
          eave_elem_f64(c->x.dtype, c->x.data, base + taps[t].x) - c->x_zp);
  }
}

/* Output element i (channel m) from its sum. */
static void finish(const conv* c, int64_t i, int64_t m, double acc) {
  double bias = c->b.data ? eave_elem_f64(c->b.dtype, c->b.data, m) : 0;
  switch (c->id) {
    case EAVE_BUILTIN_CONV_INTEGER:
      eave_elem_set_i64(c->y.dtype, c->y.data, i, (int64_t)acc); /* wraps like an int32 sum */
      return;
    case EAVE_BUILTIN_QLINEAR_CONV: {
      uint64_t ws = eave_nn_numel(&c->w_scale) == 1 ? 0 : (uint64_t)m;
      double v = (acc + bias) * c->x_scale * eave_elem_f64(c->w_scale.dtype, c->w_scale.data, ws);
      eave_elem_set_f64(c->y.dtype, c->y.data, i, nearbyint(v / c->y_scale) + c->y_zp);
      return;
    }
    default: eave_elem_set_f64(c->y.dtype, c->y.data, i, acc + bias);
  }
}

/* Output positions per matrix product: enough to keep the inner loop long. */
#define TILE 256

static eave_status run_core(eave_builtin_ctx* ctx, const conv* c) {
  int64_t k_size = c->win.kernel_size, rows = c->cg * k_size, out_size = c->win.out_size;
  size_t es = c->kind == EAVE_NN_F32 ? 4 : 8;
  void *col, *acc;
  eave_nn_tap* taps;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)(c->c_in * k_size), TILE, es, &col));
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)c->mg, TILE, es, &acc));
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)k_size, 1, sizeof *taps, (void**)&taps));
  for (int64_t n = 0; n < c->batch; ++n) {
    int64_t o[EAVE_NN_MAX_SPATIAL] = {0};
    for (int64_t pos = 0; pos < out_size; pos += TILE) {
      int64_t cols = out_size - pos < TILE ? out_size - pos : TILE;
      memset(col, 0, (size_t)(c->c_in * k_size * cols) * es);
      for (int64_t p = 0; p < cols; ++p, eave_nn_next_index(c->win.rank, c->win.out, o))
        gather(c, n, o, pos + p, col, p, cols, taps);
      for (int64_t g = 0; g < c->m_out / (c->mg ? c->mg : 1); ++g) {
        eave_nn_matmul(c->kind, at(c->kind, c->wk, g * c->mg * rows), rows, 1,
                       at(c->kind, col, g * rows * cols), cols, 1, c->mg, rows, cols, acc);
        for (int64_t m = g * c->mg; m < (g + 1) * c->mg; ++m)
          for (int64_t p = 0; p < cols; ++p)
            finish(c, (n * c->m_out + m) * out_size + pos + p, m,
                   eave_nn_get(c->kind, acc, (uint64_t)((m - g * c->mg) * cols + p)));
      }
    }
  }
  return NULL;
}

eave_status eave_builtin_conv_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  const eave_step* step = eave_builtin_step(ctx);
  const conv_desc* d = find_desc(step->id);
  conv c;
  memset(&c, 0, sizeof c);
  c.id = step->id;
  int transposed = c.id == EAVE_BUILTIN_CONV_TRANSPOSE;
  int integer = c.id == EAVE_BUILTIN_CONV_INTEGER || c.id == EAVE_BUILTIN_QLINEAR_CONV;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &c.x));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, d->w, "W", &c.w));
  if (d->b) EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, d->b, &c.b));
  uint32_t rank = c.x.rank - 2;
  int64_t group = eave_attr_int(params, size, "group", 1);
  c.batch = c.x.dims[0];
  c.c_in = c.x.dims[1];
  if (group <= 0 || c.c_in % group)
    return EAVE_RUN_ERROR("group %lld must divide the %lld input channels", (long long)group,
                          (long long)c.c_in);
  c.cg = c.c_in / group;
  if (transposed) {
    if (c.w.dims[0] != c.c_in)
      return EAVE_RUN_ERROR("W has %lld input channels (dim 0), X has %lld", (long long)c.w.dims[0],
                            (long long)c.c_in);
    c.mg = c.w.dims[1];
    c.m_out = c.mg * group;
  } else {
    c.m_out = c.w.dims[0];
    c.mg = c.m_out / group;
    if (c.m_out % group || c.w.dims[1] != c.cg)
      return EAVE_RUN_ERROR(
          "W must have %lld input channels per group and a multiple of %lld "
          "output channels",
          (long long)c.cg, (long long)group);
  }
  if (c.b.data && (c.b.rank != 1 || c.b.dims[0] != c.m_out))
    return EAVE_RUN_ERROR("B must have shape [%lld]", (long long)c.m_out);
  int64_t kernel[EAVE_NN_MAX_SPATIAL];
  EAVE_RETURN_IF_ERROR(eave_nn_kernel_shape(params, size, rank, c.w.dims + 2, kernel));
  if (eave_nn_prod(kernel, rank) > (INT64_MAX >> 4) / (c.c_in + 1))
    return EAVE_RUN_ERROR("the kernel is too large");
  if (transposed)
    EAVE_RETURN_IF_ERROR(transposed_window(params, size, rank, c.x.dims + 2, kernel, &c.win));
  else
    EAVE_RETURN_IF_ERROR(eave_nn_sliding_window(params, size, rank, c.x.dims + 2, kernel, &c.win));
  int64_t dims[EAVE_MAX_RANK] = {c.batch, c.m_out};
  memcpy(dims + 2, c.win.out, rank * sizeof *dims);
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, rank + 2, dims, &c.y));
  c.kind = integer ? EAVE_NN_F64 : eave_nn_kind_of(c.x.dtype);

  eave_tensor_view w_zp = {0};
  if (integer) {
    /* Zero points: X's one value, W's one value or one per output channel. */
    uint32_t wz = d->w + 2;
    EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 2, "x_zero_point", 0, &c.x_zp));
    EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, wz, &w_zp));
  }
  if (c.id == EAVE_BUILTIN_QLINEAR_CONV) {
    /* Inputs 0 to 7 are present (checked at load). */
    EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 1, "x_scale", 0, &c.x_scale));
    EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 6, "y_scale", 0, &c.y_scale));
    EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 7, "y_zero_point", 0, &c.y_zp));
    EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 4, "w_scale", &c.w_scale));
    uint64_t n = eave_nn_numel(&c.w_scale);
    if (c.w_scale.rank > 1 || (n != 1 && n != (uint64_t)c.m_out))
      return EAVE_RUN_ERROR("w_scale must be one value or one per output channel (%lld)",
                            (long long)c.m_out);
  }
  if (c.id == EAVE_BUILTIN_DEFORM_CONV) {
    c.offset_group = eave_attr_int(params, size, "offset_group", 1);
    if (c.offset_group <= 0 || c.c_in % c.offset_group)
      return EAVE_RUN_ERROR("offset_group %lld must divide the %lld input channels",
                            (long long)c.offset_group, (long long)c.c_in);
    EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 2, "offset", &c.offset));
    EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 4, &c.mask));
    /* offset: (N, offset_group * kernel * rank, out...); mask: (N, offset_group * kernel,
     * out...). */
    for (int which = 0; which < 2; ++which) {
      const eave_tensor_view* v = which ? &c.mask : &c.offset;
      if (!v->data) continue;
      int64_t want = c.offset_group * c.win.kernel_size * (which ? 1 : rank);
      int ok = v->rank == rank + 2 && v->dims[0] == c.batch && v->dims[1] == want &&
               memcmp(v->dims + 2, c.win.out, rank * sizeof *dims) == 0;
      if (!ok)
        return EAVE_RUN_ERROR("%s must have shape (N, %lld, output spatial dims)",
                              which ? "mask" : "offset", (long long)want);
    }
  }
  EAVE_RETURN_IF_ERROR(load_weights(ctx, &c, &w_zp));
  return run_core(ctx, &c);
}
