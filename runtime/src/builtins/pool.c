/* The pools. AVERAGE_POOL, MAX_POOL (with Indices), LP_POOL and the GLOBAL_* pools share one
 * core: for each output position the window's taps inside the input are found once, then
 * every (batch, channel) plane is reduced over them; a global pool is a window the size of
 * the input. MAX_UNPOOL scatters back into a zeroed output; MAX_ROI_POOL and ROI_ALIGN pool
 * regions of interest of 4-D (N, C, H, W) inputs. Reductions run in double. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "nn.h"

static int is_global(uint32_t id) {
  return id == EAVE_BUILTIN_GLOBAL_AVERAGE_POOL || id == EAVE_BUILTIN_GLOBAL_MAX_POOL ||
         id == EAVE_BUILTIN_GLOBAL_LP_POOL;
}

static int is_max(uint32_t id) {
  return id == EAVE_BUILTIN_MAX_POOL || id == EAVE_BUILTIN_GLOBAL_MAX_POOL;
}

eave_status eave_builtin_pool_check(const eave_model* m, const eave_step* step,
                                    const uint8_t* params) {
  uint32_t id = step->id, in = step->input_count;
  eave_dtype x = eave_nn_dtype(m, step, 0), y = eave_nn_dtype(m, step, in);
  uint32_t r = eave_nn_rank(m, step, 0), yr = eave_nn_rank(m, step, in);
  int ok = y == x;
  switch (id) {
    case EAVE_BUILTIN_MAX_UNPOOL:
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, "MaxUnpool", 2, 3, 2, 1));
      ok &= r >= 3 && yr == r && eave_nn_dtype(m, step, 1) == EAVE_DTYPE_I64 &&
            eave_nn_rank(m, step, 1) == r;
      break;
    case EAVE_BUILTIN_MAX_ROI_POOL:
    case EAVE_BUILTIN_ROI_ALIGN:
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, "region pool", 2, 3, in, 1));
      ok &= eave_dtype_is_float(x) && r == 4 && yr == 4 && eave_nn_rank(m, step, 1) == 2 &&
            eave_dtype_is_float(eave_nn_dtype(m, step, 1));
      if (id == EAVE_BUILTIN_ROI_ALIGN)
        ok &= in == 3 && eave_nn_rank(m, step, 2) == 1 &&
              eave_nn_kind_of(eave_nn_dtype(m, step, 2)) == EAVE_NN_INT;
      else
        ok &= in == 2;
      break;
    default:
      EAVE_RETURN_IF_ERROR(
          eave_nn_check_operands(m, step, "pool", 1, 1, 1, id == EAVE_BUILTIN_MAX_POOL ? 2 : 1));
      ok &= eave_dtype_is_float(x) ||
            (id == EAVE_BUILTIN_MAX_POOL && (x == EAVE_DTYPE_I8 || x == EAVE_DTYPE_U8));
      ok &= r >= (is_global(id) ? 2u : 3u) && (y == EAVE_DTYPE_UNDEFINED || yr == r);
      if (step->output_count == 2 && eave_step_value(m, step, 2))
        ok &= eave_nn_dtype(m, step, 2) == EAVE_DTYPE_I64 && eave_nn_rank(m, step, 2) == r;
  }
  return ok ? NULL : EAVE_INVALID("pool: unsupported element types or ranks");
}

/* The order p of LpPool and GlobalLpPool. */
static eave_status lp_order(const uint8_t* params, uint32_t size, double* p) {
  *p = eave_attr_float(params, size, "p", 2);
  return *p > 0 ? NULL : EAVE_RUN_ERROR("p must be positive, got %g", *p);
}

/* How many kernel positions of output position o fall inside the input or its padding. */
static int64_t padded_window_size(const eave_nn_window* w, const int64_t* o) {
  int64_t n = 1;
  for (uint32_t d = 0; d < w->rank; ++d) {
    int64_t count = 0;
    for (int64_t k = 0; k < w->kernel[d]; ++k) {
      int64_t p = o[d] * w->stride[d] - w->pad_begin[d] + k * w->dilation[d];
      count += p >= -w->pad_begin[d] && p < w->in[d] + w->pad_end[d];
    }
    n *= count;
  }
  return n;
}

static eave_status window_pool(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  uint32_t id = eave_builtin_step(ctx)->id;
  eave_tensor_view x, y, idx = {0};
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &x));
  uint32_t rank = x.rank - 2;
  eave_nn_window win;
  int64_t kernel[EAVE_NN_MAX_SPATIAL];
  if (is_global(id)) {
    /* A window the size of the input; no attribute applies. */
    EAVE_RETURN_IF_ERROR(eave_nn_sliding_window(NULL, 0, rank, x.dims + 2, x.dims + 2, &win));
  } else {
    EAVE_RETURN_IF_ERROR(eave_nn_kernel_shape(params, size, rank, NULL, kernel));
    EAVE_RETURN_IF_ERROR(eave_nn_sliding_window(params, size, rank, x.dims + 2, kernel, &win));
  }
  double p = 1;
  int lp = id == EAVE_BUILTIN_LP_POOL || id == EAVE_BUILTIN_GLOBAL_LP_POOL;
  if (lp) EAVE_RETURN_IF_ERROR(lp_order(params, size, &p));
  int include_pad = eave_attr_int(params, size, "count_include_pad", 0) != 0;
  int column_major = eave_attr_int(params, size, "storage_order", 0) != 0;
  int64_t dims[EAVE_MAX_RANK] = {x.dims[0], x.dims[1]};
  memcpy(dims + 2, win.out, rank * sizeof *dims);
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, x.rank, dims, &y));
  if (eave_builtin_step(ctx)->output_count > 1)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 1, x.rank, dims, &idx));
  /* Column-major strides for Indices with storage_order 1. */
  int64_t col_strides[EAVE_NN_MAX_SPATIAL];
  for (uint32_t d = 0; d < rank; ++d) col_strides[d] = d ? col_strides[d - 1] * win.in[d - 1] : 1;
  /* A max over no input (the window is all padding) is the type's lowest value. */
  double lowest = x.dtype == EAVE_DTYPE_F64      ? -DBL_MAX
                  : eave_dtype_is_float(x.dtype) ? -FLT_MAX
                  : x.dtype == EAVE_DTYPE_I8     ? -128
                                                 : 0;
  eave_nn_tap* taps;
  EAVE_RETURN_IF_ERROR(
      eave_nn_scratch(ctx, (uint64_t)win.kernel_size, 1, sizeof *taps, (void**)&taps));
  int64_t planes = x.dims[0] * x.dims[1], o[EAVE_NN_MAX_SPATIAL] = {0};
  for (int64_t pos = 0; pos < win.out_size; ++pos, eave_nn_next_index(rank, win.out, o)) {
    int64_t count = eave_nn_window_taps(&win, o, 0, taps);
    int64_t divisor = include_pad ? padded_window_size(&win, o) : count;
    for (int64_t plane = 0; plane < planes; ++plane) {
      int64_t base = plane * win.in_size, out_i = plane * win.out_size + pos, best = -1;
      double acc = 0;
      for (int64_t t = 0; t < count; ++t) {
        double v = eave_elem_f64(x.dtype, x.data, base + taps[t].x);
        if (is_max(id)) {
          if (best < 0 || v > acc) acc = v, best = taps[t].x;
        } else {
          acc += lp ? pow(fabs(v), p) : v;
        }
      }
      if (is_max(id))
        acc = best < 0 ? lowest : acc;
      else
        acc = lp ? pow(acc, 1 / p) : acc / (double)divisor;
      if (y.data) eave_elem_set_f64(y.dtype, y.data, out_i, acc);
      if (!idx.data) continue;
      /* Indices count over the whole input: the plane's offset, then the position in the
       * plane in row-major or (storage_order 1) column-major order. */
      int64_t index = best;
      if (best >= 0 && column_major) {
        index = 0;
        for (uint32_t d = rank; d-- > 0; best /= win.in[d])
          index += best % win.in[d] * col_strides[d];
      }
      eave_elem_set_i64(EAVE_DTYPE_I64, idx.data, out_i, index < 0 ? -1 : base + index);
    }
  }
  return NULL;
}

static eave_status max_unpool(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  eave_tensor_view x, ind, shape = {0}, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &x));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "I", &ind));
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 2, &shape));
  if (memcmp(x.dims, ind.dims, x.rank * sizeof *x.dims))
    return EAVE_RUN_ERROR("I must have the shape of X");
  uint32_t rank = x.rank - 2;
  int64_t kernel[EAVE_NN_MAX_SPATIAL], stride[EAVE_NN_MAX_SPATIAL], pads[2 * EAVE_NN_MAX_SPATIAL];
  EAVE_RETURN_IF_ERROR(eave_nn_kernel_shape(params, size, rank, NULL, kernel));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "strides", rank, 1, 1, 1, stride));
  EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "pads", rank, 2, 0, 0, pads));
  /* Indices address the input of the MaxPool this undoes. A larger output_shape extends that
   * tensor with zeros at the end of each spatial axis. */
  int64_t pooled[EAVE_MAX_RANK] = {x.dims[0], x.dims[1]}, dims[EAVE_MAX_RANK];
  for (uint32_t d = 0; d < rank; ++d) {
    if (x.dims[d + 2] >= ((int64_t)1 << 31)) return EAVE_RUN_ERROR("X is too large");
    pooled[d + 2] = (x.dims[d + 2] - 1) * stride[d] + kernel[d] - pads[d] - pads[d + rank];
    if (pooled[d + 2] < 0) return EAVE_RUN_ERROR("pads remove more than axis %u holds", d + 2);
  }
  memcpy(dims, pooled, x.rank * sizeof *dims);
  if (shape.data) {
    if (shape.rank != 1 || shape.dims[0] != x.rank)
      return EAVE_RUN_ERROR("output_shape must have %u entries", x.rank);
    for (uint32_t d = 0; d < x.rank; ++d) {
      dims[d] = eave_elem_i64(shape.dtype, shape.data, d);
      if (dims[d] < pooled[d] || (d < 2 && dims[d] != pooled[d]))
        return EAVE_RUN_ERROR("output_shape is smaller than the unpooled tensor on axis %u", d);
    }
  }
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, x.rank, dims, &y));
  size_t esize = eave_dtype_size(x.dtype);
  if (y.data) memset(y.data, 0, (size_t)y.bytes);
  uint64_t n = eave_nn_numel(&x), total = (uint64_t)eave_nn_prod(pooled, x.rank);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t at = eave_elem_i64(EAVE_DTYPE_I64, ind.data, i), to = 0, rest = at, step = 1;
    if (at < 0 || (uint64_t)at >= total)
      return EAVE_RUN_ERROR("index %lld is out of range for the unpooled tensor (%llu elements)",
                            (long long)at, (unsigned long long)total);
    for (uint32_t d = x.rank; d-- > 0; rest /= pooled[d], step *= dims[d])
      to += rest % pooled[d] * step;
    memcpy((uint8_t*)y.data + (size_t)to * esize, (const uint8_t*)x.data + i * esize, esize);
  }
  return NULL;
}

/* v as an integer, clamped far beyond any image size (NaN gives 0). */
static int64_t clamp_i64(double v) {
  if (!(v == v)) return 0;
  return v < -1e15 ? (int64_t)-1e15 : v > 1e15 ? (int64_t)1e15 : (int64_t)v;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static eave_status roi_pool(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  uint32_t id = eave_builtin_step(ctx)->id;
  int align = id == EAVE_BUILTIN_ROI_ALIGN;
  eave_tensor_view x, rois, batch_idx = {0}, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &x));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "rois", &rois));
  if (align) EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 2, "batch_indices", &batch_idx));
  int64_t num = rois.dims[0], cols = align ? 4 : 5;
  if (rois.dims[1] != cols || (align && batch_idx.dims[0] != num))
    return EAVE_RUN_ERROR("rois must have shape (num_rois, %lld)%s", (long long)cols,
                          align ? " and batch_indices (num_rois)" : "");
  int64_t out_h, out_w;
  if (align) {
    out_h = eave_attr_int(params, size, "output_height", 1);
    out_w = eave_attr_int(params, size, "output_width", 1);
  } else {
    int64_t pooled[2];
    EAVE_RETURN_IF_ERROR(eave_nn_spatial_attr(params, size, "pooled_shape", 2, 1, 0, 1, pooled));
    eave_attr a;
    if (!eave_attrs_find(params, size, "pooled_shape", &a))
      return EAVE_RUN_ERROR("pooled_shape is required");
    out_h = pooled[0];
    out_w = pooled[1];
  }
  int64_t sampling = eave_attr_int(params, size, "sampling_ratio", 0);
  if (out_h <= 0 || out_w <= 0 || out_h >= ((int64_t)1 << 31) || out_w >= ((int64_t)1 << 31) ||
      sampling < 0 || sampling >= ((int64_t)1 << 31))
    return EAVE_RUN_ERROR("output sizes must be positive and sampling_ratio not negative");
  int avg = eave_attr_string_is(params, size, "mode", "avg", 1);
  if (!avg && !eave_attr_string_is(params, size, "mode", "max", 0))
    return EAVE_RUN_ERROR("unknown mode (expected avg or max)");
  /* RoiAlign-10 behaves as output_half_pixel; the half_pixel default came with opset 16. */
  int half_pixel = eave_attr_string_is(params, size, "coordinate_transformation_mode", "half_pixel",
                                       eave_attrs_opset(params, size) >= 16);
  if (!half_pixel &&
      !eave_attr_string_is(params, size, "coordinate_transformation_mode", "output_half_pixel", 1))
    return EAVE_RUN_ERROR("unknown coordinate_transformation_mode");
  double scale = eave_attr_float(params, size, "spatial_scale", 1.0);
  int64_t channels = x.dims[1], height = x.dims[2], width = x.dims[3];
  int64_t dims[4] = {num, channels, out_h, out_w};
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 4, dims, &y));
  for (int64_t r = 0; r < num; ++r) {
    double roi[5];
    for (int64_t j = 0; j < cols; ++j) roi[j] = eave_elem_f64(rois.dtype, rois.data, r * cols + j);
    int64_t batch = align ? eave_elem_i64(batch_idx.dtype, batch_idx.data, r) : clamp_i64(roi[0]);
    if (batch < 0 || batch >= x.dims[0])
      return EAVE_RUN_ERROR("roi %lld names batch %lld, outside [0, %lld)", (long long)r,
                            (long long)batch, (long long)x.dims[0]);
    double y0, x0, bin_h, bin_w;
    int64_t grid_h = 1, grid_w = 1;
    if (align) {
      double off = half_pixel ? 0.5 : 0.0;
      x0 = roi[0] * scale - off;
      y0 = roi[1] * scale - off;
      double roi_w = roi[2] * scale - off - x0, roi_h = roi[3] * scale - off - y0;
      if (!half_pixel) {
        roi_w = roi_w > 1 ? roi_w : 1;
        roi_h = roi_h > 1 ? roi_h : 1;
      }
      bin_h = roi_h / (double)out_h;
      bin_w = roi_w / (double)out_w;
      if (!(fabs(bin_h) < 1e9 && fabs(bin_w) < 1e9 && fabs(x0) < 1e15 && fabs(y0) < 1e15))
        return EAVE_RUN_ERROR("roi %lld is not finite or too large", (long long)r);
      grid_h = sampling ? sampling : (int64_t)ceil(bin_h);
      grid_w = sampling ? sampling : (int64_t)ceil(bin_w);
    } else {
      /* Corners scaled and rounded to pixels, the product in the element type (which decides
       * halfway cases); the region is at least one pixel. */
      int f32 = x.dtype != EAVE_DTYPE_F64;
      int64_t c[4];
      for (int j = 0; j < 4; ++j)
        c[j] =
            clamp_i64(f32 ? roundf((float)roi[j + 1] * (float)scale) : round(roi[j + 1] * scale));
      x0 = (double)c[0];
      y0 = (double)c[1];
      bin_h = (double)(c[3] - c[1] + 1 > 1 ? c[3] - c[1] + 1 : 1) / (double)out_h;
      bin_w = (double)(c[2] - c[0] + 1 > 1 ? c[2] - c[0] + 1 : 1) / (double)out_w;
    }
    double count = (double)(grid_h * grid_w > 1 ? grid_h * grid_w : 1);
    for (int64_t ch = 0; ch < channels; ++ch) {
      int64_t plane = (batch * channels + ch) * height * width;
      for (int64_t i = 0; i < out_h; ++i)
        for (int64_t j = 0; j < out_w; ++j) {
          double acc = 0;
          if (!align) {
            int64_t h0 = clamp(clamp_i64(floor((double)i * bin_h)) + (int64_t)y0, 0, height);
            int64_t h1 = clamp(clamp_i64(ceil((double)(i + 1) * bin_h)) + (int64_t)y0, 0, height);
            int64_t w0 = clamp(clamp_i64(floor((double)j * bin_w)) + (int64_t)x0, 0, width);
            int64_t w1 = clamp(clamp_i64(ceil((double)(j + 1) * bin_w)) + (int64_t)x0, 0, width);
            /* An empty bin (the region is outside the image) yields 0. */
            acc = h1 > h0 && w1 > w0 ? -INFINITY : 0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) {
                double v = eave_elem_f64(x.dtype, x.data, plane + h * width + w);
                acc = v > acc ? v : acc;
              }
          }
          for (int64_t gy = 0; align && gy < grid_h; ++gy)
            for (int64_t gx = 0; gx < grid_w; ++gx) {
              double sy = y0 + (double)i * bin_h + ((double)gy + 0.5) * bin_h / (double)grid_h;
              double sx = x0 + (double)j * bin_w + ((double)gx + 0.5) * bin_w / (double)grid_w;
              /* Bilinear weights of the four pixels around the sample; samples more than a
               * pixel outside the image contribute zero, nearer ones clamp to the border. */
              double corner[4] = {0, 0, 0, 0};
              if (sy >= -1 && sy <= (double)height && sx >= -1 && sx <= (double)width &&
                  height > 0 && width > 0) {
                sy = sy > 0 ? sy : 0;
                sx = sx > 0 ? sx : 0;
                int64_t ylo = (int64_t)sy, xlo = (int64_t)sx, yhi = ylo + 1, xhi = xlo + 1;
                if (ylo >= height - 1) yhi = ylo = height - 1, sy = (double)ylo;
                if (xlo >= width - 1) xhi = xlo = width - 1, sx = (double)xlo;
                double ly = sy - (double)ylo, lx = sx - (double)xlo, hy = 1 - ly, hx = 1 - lx;
                const int64_t at[4] = {ylo * width + xlo, ylo * width + xhi, yhi * width + xlo,
                                       yhi * width + xhi};
                const double wt[4] = {hy * hx, hy * lx, ly * hx, ly * lx};
                for (int q = 0; q < 4; ++q)
                  corner[q] = wt[q] * eave_elem_f64(x.dtype, x.data, plane + at[q]);
              }
              /* Max mode takes the largest weighted corner term, not the largest
               * interpolated value: what onnxruntime does and ONNX's own tests expect. */
              double mx = corner[0];
              for (int q = 1; q < 4; ++q) mx = corner[q] > mx ? corner[q] : mx;
              if (avg)
                acc += corner[0] + corner[1] + corner[2] + corner[3];
              else
                acc = gy == 0 && gx == 0 ? mx : (mx > acc ? mx : acc);
            }
          if (align && avg) acc /= count;
          eave_elem_set_f64(y.dtype, y.data, ((r * channels + ch) * out_h + i) * out_w + j, acc);
        }
    }
  }
  return NULL;
}

eave_status eave_builtin_pool_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  switch (eave_builtin_step(ctx)->id) {
    case EAVE_BUILTIN_MAX_UNPOOL: return max_unpool(ctx, params, size);
    case EAVE_BUILTIN_MAX_ROI_POOL:
    case EAVE_BUILTIN_ROI_ALIGN: return roi_pool(ctx, params, size);
    default: return window_pool(ctx, params, size);
  }
}
