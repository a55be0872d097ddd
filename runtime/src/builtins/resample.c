/* Builtins that resample images, after reference/shape.cc (Resize, Upsample), reference/misc.cc
 * (GridSample, AffineGrid) and reference/conv_pool.cc (Col2Im). They compute in double and
 * sum in the reference's order, so results match it bit for bit; integer outputs round half to
 * even and saturate. */
#include <math.h>
#include <string.h>

#include "data.h"

#define R EAVE_MAX_RANK

/* A double made a safe index: NaN gives 0, the magnitude stays below 2^62. */
static int64_t to_index(double v) {
  return v != v ? 0 : v < -4e18 ? -(int64_t)4e18 : v > 4e18 ? (int64_t)4e18 : (int64_t)v;
}

static int64_t clamp_i(int64_t i, int64_t lo, int64_t hi) { return i < lo ? lo : i > hi ? hi : i; }

/* The cubic convolution kernel with parameter a (Keys) near (|d| <= 1) and far (1 < |d| < 2). */
static double cubic_near(double d, double a) { return ((a + 2) * d - (a + 3)) * d * d + 1; }
static double cubic_far(double d, double a) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; }

/* ---------------------------------------------------------------- Resize, Upsample */

enum { NEAREST, LINEAR, CUBIC };
enum {
  HALF_PIXEL,
  HALF_PIXEL_SYMMETRIC,
  PYTORCH_HALF_PIXEL,
  ALIGN_CORNERS,
  ASYMMETRIC,
  TF_HALF_PIXEL_FOR_NN,
  TF_CROP_AND_RESIZE
};
enum { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL };

typedef struct resize_spec {
  int mode, coord, nearest, exclude_outside, antialias;
  double cubic_a, extrapolation;
} resize_spec;

/* One axis: output length, the scale coordinates divide by, the unrounded output length, the
 * region of interest, and the taps: per output coordinate, `slots` doubles holding the count
 * then (input index, weight) pairs. */
typedef struct resize_axis {
  int64_t in, out, slots;
  double scale, resized, roi_start, roi_end;
  double* taps;
} resize_axis;

/* Maps output coordinate x back to the input (coordinate_transformation_mode). */
static double original_coordinate(const resize_spec* r, const resize_axis* g, double x) {
  double in = (double)g->in, s = g->scale, len = g->resized;
  switch (r->coord) {
    case HALF_PIXEL:
      return (x + 0.5) / s - 0.5;
    case HALF_PIXEL_SYMMETRIC:
      return in / 2 * (1 - (double)g->out / len) + (x + 0.5) / s - 0.5;
    case PYTORCH_HALF_PIXEL:
      return len > 1 ? (x + 0.5) / s - 0.5 : 0;
    case ALIGN_CORNERS:
      return len == 1 ? 0 : x * (in - 1) / (len - 1);
    case ASYMMETRIC:
      return x / s;
    case TF_HALF_PIXEL_FOR_NN:
      return (x + 0.5) / s;
    default:
      if (len > 1)
        return g->roi_start * (in - 1) + x * (g->roi_end - g->roi_start) * (in - 1) / (len - 1);
      return 0.5 * (g->roi_start + g->roi_end) * (in - 1);
  }
}

/* The taps of output coordinate x into t; none when the coordinate falls outside the input
 * under tf_crop_and_resize (the output is then extrapolation_value). */
static void resize_taps(const resize_spec* r, const resize_axis* g, int64_t x, double* t) {
  double pos = original_coordinate(r, g, (double)x);
  int64_t n = 0;
  t[0] = 0;
  if (r->coord == TF_CROP_AND_RESIZE && !(pos >= 0 && pos <= (double)(g->in - 1))) return;
  if (r->mode == NEAREST) {
    double i = r->nearest == ROUND_PREFER_FLOOR  ? ceil(pos - 0.5)
               : r->nearest == ROUND_PREFER_CEIL ? floor(pos + 0.5)
               : r->nearest == FLOOR             ? floor(pos)
                                                 : ceil(pos);
    t[0] = 1;
    t[1] = (double)clamp_i(to_index(i), 0, g->in - 1);
    t[2] = 1;
    return;
  }
  /* Linear and cubic: a symmetric filter around pos. Antialiasing widens it by 1/scale when
   * downscaling, so that every input element contributes. */
  double stretch = r->antialias && g->scale < 1 ? g->scale : 1, base = floor(pos);
  double frac = pos - base, total = 0;
  int64_t reach = (int64_t)ceil((r->mode == LINEAR ? 1 : 2) / stretch), b = to_index(base);
  for (int64_t k = 1 - reach; k <= reach; ++k) {
    double s = fabs(((double)k - frac) * stretch);
    double w = r->mode == LINEAR ? (1 - s > 0 ? 1 - s : 0)
               : s <= 1          ? cubic_near(s, r->cubic_a)
               : s < 2           ? cubic_far(s, r->cubic_a)
                                 : 0;
    if (r->exclude_outside && (b + k < 0 || b + k >= g->in)) w = 0;
    t[1 + 2 * n] = (double)clamp_i(b + k, 0, g->in - 1);
    t[2 + 2 * n++] = w;
    total += w;
  }
  /* Exclusion and the widened filter change the weights' sum; renormalize them to 1. Then drop
   * the taps of weight 0. */
  int64_t kept = 0;
  for (int64_t k = 0; k < n; ++k) {
    double w = t[2 + 2 * k];
    if ((r->exclude_outside || stretch != 1) && total != 0) w /= total;
    if (w == 0) continue;
    t[1 + 2 * kept] = t[1 + 2 * k];
    t[2 + 2 * kept++] = w;
  }
  t[0] = (double)kept;
}

/* The filter's reach on an axis: taps per output coordinate. */
static int64_t tap_count(const resize_spec* r, const resize_axis* g) {
  if (r->mode == NEAREST) return 1;
  double stretch = r->antialias && g->scale < 1 ? g->scale : 1;
  return 2 * (int64_t)ceil((r->mode == LINEAR ? 1 : 2) / stretch);
}

static eave_status resize_spec_of(eave_data_op* op, int upsample, resize_spec* r) {
  static const char* const modes[] = {"nearest", "linear", "cubic", "bilinear"};
  static const char* const coords[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  static const char* const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  memset(r, 0, sizeof *r);
  r->cubic_a = -0.75;
  r->mode = eave_op_enum(op, "mode", "nearest", modes, 4);
  if (r->mode < 0) return EAVE_RUN_ERROR("unknown mode (expected nearest, linear or cubic)");
  if (r->mode == 3) r->mode = LINEAR;
  if (upsample || op->opset < 11) {
    /* Upsample and Resize-10 map coordinates asymmetrically and pick the nearest by flooring. */
    r->coord = ASYMMETRIC;
    r->nearest = FLOOR;
    return NULL;
  }
  r->coord = eave_op_enum(op, "coordinate_transformation_mode", "half_pixel", coords, 7);
  r->nearest = eave_op_enum(op, "nearest_mode", "round_prefer_floor", nearest, 4);
  if (r->coord < 0 || r->nearest < 0)
    return EAVE_RUN_ERROR("unknown coordinate_transformation_mode or nearest_mode");
  r->cubic_a = eave_op_float(op, "cubic_coeff_a", -0.75);
  r->exclude_outside = eave_op_int(op, "exclude_outside", 0) != 0;
  r->antialias = eave_op_int(op, "antialias", 0) != 0;
  r->extrapolation = eave_op_float(op, "extrapolation_value", 0);
  return NULL;
}

/* Input i as doubles when present and not empty; *n = -1 otherwise. */
static eave_status float_list(const eave_data_op* op, uint32_t i, double* out, uint32_t max,
                              int32_t* n) {
  const eave_tensor_view* t = &op->in[i];
  *n = -1;
  if (i >= op->inputs || !t->data || !eave_view_numel(t)) return NULL;
  if (eave_view_numel(t) > max) return EAVE_RUN_ERROR("input %u has too many entries", i);
  *n = (int32_t)eave_view_numel(t);
  for (int32_t k = 0; k < *n; ++k) out[k] = eave_elem_f64(t->dtype, t->data, (uint64_t)k);
  return NULL;
}

/* Nearest: one tap per axis, so every output element is one input element (or, outside the
 * crop of tf_crop_and_resize, the extrapolation value): a copy whose source offset is a sum of
 * per-axis offsets, with the last axis as the inner loop. Same results as the general path. */
static eave_status resize_nearest(const eave_tensor_view* x, const eave_tensor_view* out,
                                  const resize_axis* g, const int64_t* xs, double extrapolation) {
  uint32_t rank = x->rank;
  size_t es = eave_dtype_size(x->dtype);
  int64_t inner = rank ? g[rank - 1].out : 1, o[R] = {0};
  const uint8_t* src = (const uint8_t*)x->data;
  uint8_t* dst = (uint8_t*)out->data;
  uint64_t total = eave_view_numel(out);
  for (uint64_t i = 0; i < total; i += (uint64_t)inner) {
    int64_t base = 0;
    int outside = 0;
    for (uint32_t d = 0; d + 1 < rank; ++d) {
      const double* t = g[d].taps + o[d] * g[d].slots;
      outside |= t[0] == 0;
      base += (int64_t)t[1] * xs[d];
    }
    for (int64_t k = 0; k < inner; ++k) {
      const double* t = rank ? g[rank - 1].taps + k * g[rank - 1].slots : NULL;
      if (outside || (t && t[0] == 0)) {
        eave_store_rounded(out->dtype, out->data, i + (uint64_t)k, extrapolation);
        continue;
      }
      uint64_t from = (uint64_t)(base + (t ? (int64_t)t[1] : 0)), to = i + (uint64_t)k;
      switch (es) { /* fixed sizes, so the copies inline */
        case 1: memcpy(dst + to, src + from, 1); break;
        case 2: memcpy(dst + to * 2, src + from * 2, 2); break;
        case 4: memcpy(dst + to * 4, src + from * 4, 4); break;
        case 8: memcpy(dst + to * 8, src + from * 8, 8); break;
        default: memcpy(dst + to * es, src + from * es, es);
      }
    }
    for (uint32_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
      if (++o[d] < g[d].out) break;
      o[d] = 0;
    }
  }
  return NULL;
}

static eave_status resize(eave_data_op* op, int upsample) {
  const eave_tensor_view* x = &op->in[0];
  uint32_t rank = x->rank;
  resize_spec r;
  resize_axis g[R];
  double scales[R], roi[2 * R];
  int64_t sizes[R], axes[R], dims[R];
  int32_t ns = -1, nz = -1, nr = -1, na;
  EAVE_RETURN_IF_ERROR(resize_spec_of(op, upsample, &r));
  /* Inputs by version: Upsample-7 (scales attribute), Upsample-9 and Resize-10 (X, scales),
   * Resize-11+ (X, roi, scales, sizes). Empty tensors count as absent. */
  if (upsample && op->opset < 9) {
    eave_attr a;
    if (eave_attrs_find(op->attrs, op->attrs_size, "scales", &a) && a.kind == EAVE_ATTR_FLOATS &&
        a.n <= R)
      for (ns = 0; (uint32_t)ns < a.n; ++ns) scales[ns] = eave_attr_floats_at(&a, (uint32_t)ns);
  } else if (upsample || op->opset < 11) {
    EAVE_RETURN_IF_ERROR(float_list(op, 1, scales, R, &ns));
  } else {
    EAVE_RETURN_IF_ERROR(float_list(op, 1, roi, 2 * R, &nr));
    EAVE_RETURN_IF_ERROR(float_list(op, 2, scales, R, &ns));
    if (op->in[3].data && eave_view_numel(&op->in[3]))
      EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[3], "sizes", sizes, R, &nz));
  }
  if ((ns < 0) == (nz < 0)) return EAVE_RUN_ERROR("exactly one of scales and sizes must be given");
  EAVE_RETURN_IF_ERROR(eave_op_ints(op, "axes", 0, UINT32_MAX, axes, R, &na));
  if (na < 0)
    for (na = 0; (uint32_t)na < rank; ++na) axes[na] = na;
  EAVE_RETURN_IF_ERROR(eave_axes(axes, (uint32_t)na, rank));
  if ((ns < 0 ? nz : ns) != na)
    return EAVE_RUN_ERROR("scales or sizes must have %d entries (one per resized axis)", na);
  for (uint32_t d = 0; d < rank; ++d)
    g[d] = (resize_axis){x->dims[d], x->dims[d], 0, 1.0, (double)x->dims[d], 0.0, 1.0, NULL};
  /* The region of interest only matters to tf_crop_and_resize. */
  if (nr >= 0 && r.coord == TF_CROP_AND_RESIZE) {
    if (nr != 2 * na) return EAVE_RUN_ERROR("roi must have %d entries", 2 * na);
    for (int32_t i = 0; i < na; ++i) {
      g[axes[i]].roi_start = roi[i];
      g[axes[i]].roi_end = roi[i + na];
    }
  }
  if (ns >= 0) {
    for (int32_t i = 0; i < na; ++i) {
      resize_axis* a = &g[axes[i]];
      /* The spec's prose also multiplies by the roi extent under tf_crop_and_resize; ONNX's
       * shape inference and reference do not, and neither does eave's reference. */
      double len = (double)a->in * scales[i];
      if (!(scales[i] > 0) || len > 4e18) return EAVE_RUN_ERROR("scales must be positive");
      a->scale = scales[i];
      a->resized = len;
      a->out = (int64_t)floor(len);
    }
  } else {
    static const char* const policies[] = {"stretch", "not_larger", "not_smaller"};
    int policy = eave_op_enum(op, "keep_aspect_ratio_policy", "stretch", policies, 3);
    if (policy < 0) return EAVE_RUN_ERROR("unknown keep_aspect_ratio_policy");
    for (int32_t i = 0; i < na; ++i) {
      resize_axis* a = &g[axes[i]];
      if (sizes[i] < 0 || !a->in)
        return EAVE_RUN_ERROR("bad size for axis %lld", (long long)axes[i]);
      a->out = sizes[i];
      a->resized = (double)sizes[i];
      a->scale = (double)sizes[i] / (double)a->in;
    }
    if (policy && na) {
      /* One scale for every resized axis: the largest that fits in (or the smallest that
       * covers) the requested sizes. Sizes round half up. */
      double s = g[axes[0]].scale;
      for (int32_t i = 0; i < na; ++i) {
        double si = g[axes[i]].scale;
        s = policy == 1 ? (si < s ? si : s) : (si > s ? si : s);
      }
      for (int32_t i = 0; i < na; ++i) {
        resize_axis* a = &g[axes[i]];
        a->scale = s;
        a->resized = s * (double)a->in;
        a->out = (int64_t)floor(a->resized + 0.5);
      }
    }
  }
  for (uint32_t d = 0; d < rank; ++d) dims[d] = g[d].out;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, rank, dims, &out));
  uint64_t total = eave_numel(rank, dims), slots = 0;
  if (!out.data || !total) return NULL;
  if (!eave_view_numel(x))
    return EAVE_RUN_ERROR("cannot resize an empty tensor to a non-empty one");
  for (uint32_t d = 0; d < rank; ++d) {
    g[d].slots = 1 + 2 * tap_count(&r, &g[d]);
    slots += (uint64_t)g[d].out * (uint64_t)g[d].slots;
  }
  double* taps;
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, slots, (int64_t**)&taps));
  for (uint32_t d = 0; d < rank; ++d) {
    g[d].taps = d ? g[d - 1].taps + g[d - 1].out * g[d - 1].slots : taps;
    for (int64_t o = 0; o < g[d].out; ++o) resize_taps(&r, &g[d], o, g[d].taps + o * g[d].slots);
  }
  int64_t xs[R], o[R] = {0}, c[R], off[R + 1];
  double w[R + 1];
  eave_strides(rank, x->dims, xs);
  if (r.mode == NEAREST) return resize_nearest(x, &out, g, xs, r.extrapolation);
  for (uint64_t i = 0; i < total; ++i) {
    const double* t[R];
    int outside = 0;
    for (uint32_t d = 0; d < rank; ++d) {
      t[d] = g[d].taps + o[d] * g[d].slots;
      outside |= t[d][0] == 0;
      c[d] = 0;
    }
    /* Sum over every combination of one tap per axis (the interpolation is separable), in the
     * reference's order, its weight the product of the taps' from axis 0 on. */
    double acc = outside ? r.extrapolation : 0;
    w[0] = 1;
    off[0] = 0;
    for (int from = 0; !outside && from >= 0;) {
      for (uint32_t d = (uint32_t)from; d < rank; ++d) {
        w[d + 1] = w[d] * t[d][2 + 2 * c[d]];
        off[d + 1] = off[d] + (int64_t)t[d][1 + 2 * c[d]] * xs[d];
      }
      acc += w[rank] * eave_elem_f64(x->dtype, x->data, (uint64_t)off[rank]);
      for (from = (int)rank - 1; from >= 0 && ++c[from] >= (int64_t)t[from][0]; --from) c[from] = 0;
    }
    eave_store_rounded(out.dtype, out.data, i, acc);
    for (uint32_t d = rank; d-- > 0;) {
      if (++o[d] < dims[d]) break;
      o[d] = 0;
    }
  }
  return NULL;
}

EAVE_DATA_OP(resize, "RESIZE", 1, 1, "*ffn|0") { return resize(op, 0); }
EAVE_DATA_OP(upsample, "UPSAMPLE", 1, 1, "*f|0") { return resize(op, 1); }

/* ---------------------------------------------------------------- GridSample */

/* Folds x back into [lo, hi] by reflecting at the bounds as often as needed. */
static double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo || x > hi) {
    double d = x < lo ? lo - x : x - hi;
    int64_t flips = (int64_t)(d / range);
    double r = d - (double)flips * range;
    return (flips % 2 == 0) == (x < lo) ? lo + r : hi - r;
  }
  return x;
}

enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECTION };

typedef struct sampler {
  const eave_tensor_view* x;
  uint64_t plane; /* element offset of the (n, c) plane */
  uint32_t r;
  int pad, align;
  const int64_t* in;
  int64_t strides[R];
} sampler;

/* The plane's value at integer position idx, out-of-range positions handled by the padding. */
static double fetch(const sampler* s, const int64_t* idx) {
  int64_t off = 0;
  for (uint32_t d = 0; d < s->r; ++d) {
    int64_t i = idx[d], len = s->in[d];
    if (i < 0 || i >= len) {
      if (s->pad == PAD_ZEROS) return 0;
      if (s->pad == PAD_BORDER) {
        i = clamp_i(i, 0, len - 1);
      } else {
        double lo = s->align ? 0.0 : -0.5, hi = s->align ? (double)(len - 1) : (double)len - 0.5;
        i = clamp_i(to_index(reflect((double)i, lo, hi)), 0, len - 1);
      }
    }
    off += i * s->strides[d];
  }
  return eave_elem_f64(s->x->dtype, s->x->data, s->plane + (uint64_t)off);
}

/* X [N, C, D1..Dr], grid [N, O1..Or, r] of normalized coordinates in [-1, 1] (the last
 * component indexes the innermost spatial axis) -> [N, C, O1..Or]. */
EAVE_DATA_OP(grid_sample, "GRID_SAMPLE", 2, 1, "xf|0") {
  static const char* const modes[] = {"bilinear", "linear", "nearest", "bicubic", "cubic"};
  static const char* const pads[] = {"zeros", "border", "reflection"};
  const eave_tensor_view *x = &op->in[0], *grid = &op->in[1];
  if (x->rank < 3) return EAVE_RUN_ERROR("X must have shape [N, C, D1, ...]");
  sampler s = {x, 0, x->rank - 2, 0, 0, x->dims + 2, {0}};
  uint32_t r = s.r;
  if (grid->rank != r + 2 || grid->dims[0] != x->dims[0] || grid->dims[r + 1] != (int64_t)r)
    return EAVE_RUN_ERROR("grid must have shape [%lld, out dims..., %u]", (long long)x->dims[0], r);
  int mode = eave_op_enum(op, "mode", op->opset >= 20 ? "linear" : "bilinear", modes, 5);
  s.pad = eave_op_enum(op, "padding_mode", "zeros", pads, 3);
  s.align = eave_op_int(op, "align_corners", 0) != 0;
  if (mode < 0 || s.pad < 0) return EAVE_RUN_ERROR("unknown mode or padding_mode");
  int linear = mode<2, cubic = mode> 2;
  if (cubic && r != 2) return EAVE_RUN_ERROR("cubic mode needs 4-D input");
  int64_t batch = x->dims[0], chans = x->dims[1], dims[R], base[R], idx[R];
  uint64_t in_sp = eave_numel(r, s.in), out_sp = eave_numel(r, grid->dims + 1);
  if (!in_sp && out_sp && batch * chans)
    return EAVE_RUN_ERROR("cannot sample from X with an empty spatial dimension");
  dims[0] = batch;
  dims[1] = chans;
  memcpy(dims + 2, grid->dims + 1, r * 8);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, r + 2, dims, &out));
  if (eave_empty(&out)) return NULL;
  eave_strides(r, s.in, s.strides);
  double coord[R];
  for (int64_t nb = 0; nb < batch; ++nb)
    for (int64_t c = 0; c < chans; ++c) {
      s.plane = (uint64_t)(nb * chans + c) * in_sp;
      for (uint64_t o = 0; o < out_sp; ++o) {
        int nan_point = 0;
        for (uint32_t d = 0; d < r; ++d) {
          double gv =
              eave_elem_f64(grid->dtype, grid->data, ((uint64_t)nb * out_sp + o) * r + r - 1 - d);
          double len = (double)s.in[d];
          double v = s.align ? (gv + 1) / 2 * (len - 1) : ((gv + 1) * len - 1) / 2;
          /* Linear and nearest move far-out coordinates in before sampling; cubic pads each of
           * its taps instead. */
          if (!cubic && s.pad == PAD_BORDER) v = v < 0 ? 0 : v > len - 1 ? len - 1 : v;
          if (!cubic && s.pad == PAD_REFLECTION)
            v = s.align ? reflect(v, 0, len - 1) : reflect(v, -0.5, len - 0.5);
          /* Bound coordinates so that integer tap positions cannot overflow. */
          coord[d] = v < -1e12 ? -1e12 : v > 1e12 ? 1e12 : v;
          nan_point |= v != v;
        }
        double result = 0;
        if (nan_point) {
          result = NAN;
        } else if (mode == 2) {
          for (uint32_t d = 0; d < r; ++d) idx[d] = (int64_t)rint(coord[d]);
          result = fetch(&s, idx);
        } else if (linear) {
          for (uint32_t d = 0; d < r; ++d) base[d] = (int64_t)floor(coord[d]);
          for (uint32_t corner = 0; corner < (1u << r); ++corner) {
            double w = 1;
            for (uint32_t d = 0; d < r; ++d) {
              int hi = (corner >> d) & 1;
              double t = coord[d] - (double)base[d];
              w *= hi ? t : 1 - t;
              idx[d] = base[d] + hi;
            }
            if (w != 0) result += w * fetch(&s, idx);
          }
        } else {
          double wt[2][4];
          for (int d = 0; d < 2; ++d) {
            double t = coord[d] - floor(coord[d]), a = -0.75;
            double w4[4] = {cubic_far(t + 1, a), cubic_near(t, a), cubic_near(1 - t, a),
                            cubic_far(2 - t, a)};
            memcpy(wt[d], w4, sizeof w4);
            base[d] = (int64_t)floor(coord[d]) - 1;
          }
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
              int64_t at[2] = {base[0] + i, base[1] + j};
              result += wt[0][i] * wt[1][j] * fetch(&s, at);
            }
        }
        eave_store_rounded(out.dtype, out.data, (uint64_t)(nb * chans + c) * out_sp + o, result);
      }
    }
  return NULL;
}

/* ---------------------------------------------------------------- AffineGrid */

/* theta [N, 2, 3] with size [N, C, H, W] -> grid [N, H, W, 2]; theta [N, 3, 4] with size
 * [N, C, D, H, W] -> [N, D, H, W, 3]: theta applied to the normalized base coordinates
 * (x, y[, z], 1), which span [-1, 1] at pixel centers, or at the corner pixels when
 * align_corners=1. */
EAVE_DATA_OP(affine_grid, "AFFINE_GRID", 2, 1, "fn|0") {
  const eave_tensor_view* theta = &op->in[0];
  int64_t size[5], dims[5];
  int32_t n;
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "size", size, 5, &n));
  int align = eave_op_int(op, "align_corners", 0) != 0;
  if (n != 4 && n != 5) return EAVE_RUN_ERROR("size must have 4 or 5 entries");
  int64_t r = n - 2, batch = size[0];
  if (theta->rank != 3 || theta->dims[0] != batch || theta->dims[1] != r || theta->dims[2] != r + 1)
    return EAVE_RUN_ERROR("theta must have shape [%lld, %lld, %lld]", (long long)batch,
                          (long long)r, (long long)r + 1);
  dims[0] = batch;
  for (int64_t d = 0; d < r; ++d) {
    if (size[2 + d] < 0) return EAVE_RUN_ERROR("size must not be negative");
    dims[1 + d] = size[2 + d];
  }
  dims[r + 1] = r;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, (uint32_t)r + 2, dims, &out));
  uint64_t points = eave_numel((uint32_t)r, size + 2), at = 0;
  for (int64_t b = 0; !eave_empty(&out) && b < batch; ++b)
    for (uint64_t p = 0; p < points; ++p) {
      /* Homogeneous base point (x, y[, z], 1): x follows the innermost axis. */
      double h[4] = {1, 1, 1, 1};
      uint64_t rest = p;
      for (int64_t d = r - 1; d >= 0; --d) {
        int64_t len = size[2 + d], i = (int64_t)(rest % (uint64_t)len);
        h[r - 1 - d] = align ? (len > 1 ? -1.0 + 2.0 * (double)i / (double)(len - 1) : -1.0)
                             : (2.0 * (double)i + 1.0) / (double)len - 1.0;
        rest /= (uint64_t)len;
      }
      for (int64_t row = 0; row < r; ++row) {
        double v = 0;
        for (int64_t col = 0; col <= r; ++col)
          v += eave_elem_f64(theta->dtype, theta->data, (uint64_t)((b * r + row) * (r + 1) + col)) *
               h[col];
        eave_elem_set_f64(out.dtype, out.data, at++, v);
      }
    }
  return NULL;
}

/* ---------------------------------------------------------------- Col2Im */

/* Input [N, C * prod(block), L] -> [N, C, image...]: undoes an im2col over the image, with the
 * window geometry of a Conv (strides, dilations, pads); overlapping taps add up. */
EAVE_DATA_OP(col2im, "COL2IM", 3, 1, "fnn|0") {
  const eave_tensor_view* x = &op->in[0];
  int64_t image[R], block[R], strides[R], dil[R], pads[2 * R], win[R], dims[R], ys[R];
  int32_t n, nb, k;
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[1], "image_shape", image, R - 2, &n));
  EAVE_RETURN_IF_ERROR(eave_input_ints(&op->in[2], "block_shape", block, R - 2, &nb));
  if (n < 1 || n != nb) return EAVE_RUN_ERROR("image_shape and block_shape must match in length");
  if (x->rank != 3) return EAVE_RUN_ERROR("input must have shape (N, C * block size, L)");
  const char* names[3] = {"strides", "dilations", "pads"};
  int64_t* lists[3] = {strides, dil, pads};
  for (int i = 0; i < 3; ++i) {
    int32_t want = i == 2 ? 2 * n : n;
    EAVE_RETURN_IF_ERROR(eave_op_ints(op, names[i], 0, UINT32_MAX, lists[i], 2 * R, &k));
    if (k >= 0 && k != want) return EAVE_RUN_ERROR("%s must have %d entries", names[i], want);
    for (int32_t j = 0; k < 0 && j < want; ++j) lists[i][j] = i == 2 ? 0 : 1;
  }
  int64_t k_size = (int64_t)eave_numel((uint32_t)n, block);
  for (int32_t d = 0; d < n; ++d) {
    int64_t extent = (block[d] - 1) * dil[d] + 1, span = image[d] + pads[d] + pads[d + n] - extent;
    if (block[d] <= 0 || strides[d] <= 0 || dil[d] <= 0 || image[d] < 0 || pads[d] < 0 ||
        pads[d + n] < 0 || block[d] > (1 << 30) || dil[d] > (1 << 30) || image[d] > (1LL << 40) ||
        pads[d] > (1LL << 40) || pads[d + n] > (1LL << 40) || span < 0)
      return EAVE_RUN_ERROR("bad window geometry on spatial axis %d", d);
    win[d] = span / strides[d] + 1;
  }
  int64_t blocks = (int64_t)eave_numel((uint32_t)n, win), batch = x->dims[0];
  if (x->dims[1] % k_size || x->dims[2] != blocks)
    return EAVE_RUN_ERROR("input must have shape [N, C * %lld, %lld]", (long long)k_size,
                          (long long)blocks);
  int64_t chans = x->dims[1] / k_size, y_sp = (int64_t)eave_numel((uint32_t)n, image);
  dims[0] = batch;
  dims[1] = chans;
  memcpy(dims + 2, image, (size_t)n * 8);
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, (uint32_t)n + 2, dims, &out));
  uint64_t total = eave_view_numel(&out);
  double* acc;
  if (eave_empty(&out)) return NULL;
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, total, (int64_t**)&acc));
  for (uint64_t i = 0; i < total; ++i) acc[i] = 0;
  eave_strides((uint32_t)n, image, ys);
  int64_t o[R] = {0};
  for (int64_t l = 0; l < blocks; ++l) {
    int64_t kk[R] = {0};
    for (int64_t t = 0; t < k_size; ++t) {
      int64_t at = 0, inside = 1;
      for (int32_t d = 0; d < n && inside; ++d) {
        int64_t p = o[d] * strides[d] - pads[d] + kk[d] * dil[d];
        inside = p >= 0 && p < image[d];
        at += p * ys[d];
      }
      for (int64_t b = 0; inside && b < batch; ++b)
        for (int64_t c = 0; c < chans; ++c)
          acc[(b * chans + c) * y_sp + at] += eave_elem_f64(
              x->dtype, x->data, (uint64_t)((b * x->dims[1] + c * k_size + t) * blocks + l));
      for (int32_t d = n; d-- > 0;) {
        if (++kk[d] < block[d]) break;
        kk[d] = 0;
      }
    }
    for (int32_t d = n; d-- > 0;) {
      if (++o[d] < win[d]) break;
      o[d] = 0;
    }
  }
  for (uint64_t i = 0; i < total; ++i) eave_elem_set_f64(out.dtype, out.data, i, acc[i]);
  return NULL;
}
