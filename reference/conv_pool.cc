// Reference kernels: convolution and pooling. Conv, ConvTranspose, DeformConv, Col2Im, the
// windowed pools (AveragePool, MaxPool, LpPool, MaxUnpool), the global pools and the region pools
// (MaxRoiPool, RoiAlign). Every op works on N-D spatial data laid out (N, C, D1, ..., Dn) and
// accumulates in double; direct loop nests, no im2col or other restructuring.
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- window geometry

// A sliding window over the spatial axes: output position o on axis d covers the input
// positions o * stride - pad_begin + k * dilation for k in [0, kernel).
struct Window {
  std::vector<int64_t> in, out, kernel, stride, dilation, pad_begin, pad_end;
  size_t rank() const { return in.size(); }
};

// Reads a per-spatial-axis attribute, checking its length; `dflt` fills every axis if absent.
std::vector<int64_t> spatial_attr(const KernelContext& ctx, const char* name, size_t rank,
                                  int64_t dflt, size_t per_axis = 1) {
  if (!ctx.node().has_attr(name)) return std::vector<int64_t>(rank * per_axis, dflt);
  std::vector<int64_t> v = ctx.node().attr_ints(name);
  ctx.check(v.size() == rank * per_axis, name, " ", dims_str(v), " must have ", rank * per_axis,
            " entries for ", rank, " spatial axes");
  return v;
}

enum class AutoPad { NotSet, SameUpper, SameLower, Valid };

AutoPad auto_pad_attr(const KernelContext& ctx) {
  std::string s = ctx.node().attr_string("auto_pad", "NOTSET");
  if (s == "NOTSET") return AutoPad::NotSet;
  if (s == "SAME_UPPER") return AutoPad::SameUpper;
  if (s == "SAME_LOWER") return AutoPad::SameLower;
  if (s == "VALID") return AutoPad::Valid;
  ctx.fail("unknown auto_pad '", s, "' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)");
}

// Geometry of a Conv or pooling window over the spatial dims `in`, from the node's strides,
// dilations, pads, auto_pad and (for pools) ceil_mode attributes.
Window sliding_window(const KernelContext& ctx, std::span<const int64_t> in,
                      std::vector<int64_t> kernel) {
  size_t rank = in.size();
  Window w;
  w.in.assign(in.begin(), in.end());
  w.kernel = std::move(kernel);
  w.stride = spatial_attr(ctx, "strides", rank, 1);
  w.dilation = spatial_attr(ctx, "dilations", rank, 1);
  std::vector<int64_t> pads = spatial_attr(ctx, "pads", rank, 0, 2);
  bool ceil_mode = ctx.node().attr_int("ceil_mode", 0) != 0;
  AutoPad auto_pad = auto_pad_attr(ctx);
  for (size_t d = 0; d < rank; ++d) {
    int64_t k = w.kernel[d], s = w.stride[d], dil = w.dilation[d];
    ctx.check(k > 0 && s > 0 && dil > 0, "kernel, stride and dilation must be positive on axis ",
              d);
    int64_t extent = (k - 1) * dil + 1;
    int64_t pb = pads[d], pe = pads[d + rank], out;
    ctx.check(pb >= 0 && pe >= 0, "pads ", dims_str(pads), " must not be negative");
    if (auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
      // The output keeps ceil(in / stride) positions; the padding that needs is split evenly,
      // the odd element going to the end (SAME_UPPER) or the beginning (SAME_LOWER).
      out = (in[d] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in[d]);
      pb = auto_pad == AutoPad::SameUpper ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      if (auto_pad == AutoPad::Valid) pb = pe = 0;
      int64_t span = in[d] + pb + pe - extent;
      ctx.check(span >= 0, "the window (extent ", extent, ") is larger than spatial axis ", d,
                " (", in[d], " plus padding ", pb + pe, ")");
      out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      // In ceil mode a last window that would start in the end padding is dropped.
      if (ceil_mode && (out - 1) * s >= in[d] + pb) --out;
    }
    w.out.push_back(out);
    w.pad_begin.push_back(pb);
    w.pad_end.push_back(pe);
  }
  return w;
}

// One kernel position inside the input: the kernel's flat index and the input's spatial
// flat offset.
struct Tap {
  int64_t k;
  int64_t x;
};

// The kernel positions of output position `o` that fall inside the input.
std::vector<Tap> window_taps(const Window& w, const std::vector<int64_t>& o) {
  std::vector<int64_t> xs = strides_of(w.in);
  std::vector<Tap> taps;
  int64_t k = 0;
  for_each_index(w.kernel, [&](const std::vector<int64_t>& kk) {
    int64_t x = 0;
    bool inside = true;
    for (size_t d = 0; d < w.rank() && inside; ++d) {
      int64_t p = o[d] * w.stride[d] - w.pad_begin[d] + kk[d] * w.dilation[d];
      inside = p >= 0 && p < w.in[d];
      x += p * xs[d];
    }
    if (inside) taps.push_back({k, x});
    ++k;
  });
  return taps;
}

// How many kernel positions of output position `o` fall inside the input or its padding.
int64_t padded_window_size(const Window& w, const std::vector<int64_t>& o) {
  int64_t n = 1;
  for (size_t d = 0; d < w.rank(); ++d) {
    int64_t count = 0;
    for (int64_t k = 0; k < w.kernel[d]; ++k) {
      int64_t p = o[d] * w.stride[d] - w.pad_begin[d] + k * w.dilation[d];
      count += p >= -w.pad_begin[d] && p < w.in[d] + w.pad_end[d];
    }
    n *= count;
  }
  return n;
}

// (N, C, spatial...) of a data input with at least one spatial axis.
void check_nc_spatial(const KernelContext& ctx, const Tensor& x, const char* what) {
  ctx.check(x.rank() >= 3, what, " must have shape (N, C, D1, ...), got ", dims_str(x.dims()));
}

std::vector<int64_t> spatial_of(const Tensor& x) {
  return std::vector<int64_t>(x.dims().begin() + 2, x.dims().end());
}

// kernel_shape if given (it must agree with `from_weights` where that is known), else the
// weights' spatial dims.
std::vector<int64_t> kernel_shape(const KernelContext& ctx,
                                  const std::vector<int64_t>& from_weights) {
  if (!ctx.node().has_attr("kernel_shape")) return from_weights;
  std::vector<int64_t> k = ctx.node().attr_ints("kernel_shape");
  ctx.check(k == from_weights, "kernel_shape ", dims_str(k), " does not match the weights' "
            "spatial dims ", dims_str(from_weights));
  return k;
}

// Reads element i of a float tensor as double.
template <class T>
double at(const T* p, int64_t i) {
  return double(widen(p[i]));
}

// ---------------------------------------------------------------- convolution

void conv_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.optional_input(2);
  check_nc_spatial(ctx, x, "X");
  ctx.check(w.rank() == x.rank(), "W ", dims_str(w.dims()), " must have the rank of X ",
            dims_str(x.dims()));
  ctx.check(w.dtype() == x.dtype() && (!b || b->dtype() == x.dtype()), "X, W and B must have "
            "the same element type");
  int64_t n_batch = x.dim(0), c_in = x.dim(1), m_out = w.dim(0);
  int64_t group = ctx.node().attr_int("group", 1);
  ctx.check(group > 0 && c_in % group == 0 && m_out % group == 0, "group ", group,
            " must divide the input channels ", c_in, " and the output channels ", m_out);
  int64_t cg = c_in / group, mg = m_out / group;
  ctx.check(w.dim(1) == cg, "W ", dims_str(w.dims()), " must have ", cg,
            " input channels per group (", c_in, " channels in ", group, " groups)");
  ctx.check(!b || (b->rank() == 1 && b->dim(0) == m_out), "B must have shape [", m_out, "], got ",
            b ? dims_str(b->dims()) : "");
  Window win = sliding_window(ctx, spatial_of(x), kernel_shape(ctx, spatial_of(w)));
  std::vector<int64_t> dims = {n_batch, m_out};
  dims.insert(dims.end(), win.out.begin(), win.out.end());
  int64_t x_spatial = shape_numel(win.in), y_spatial = shape_numel(win.out);
  int64_t k_size = shape_numel(win.kernel);

  Tensor y(x.dtype(), dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    T* py = y.mutable_data<T>();
    int64_t pos = 0;
    for_each_index(win.out, [&](const std::vector<int64_t>& o) {
      std::vector<Tap> taps = window_taps(win, o);
      for (int64_t n = 0; n < n_batch; ++n) {
        for (int64_t m = 0; m < m_out; ++m) {
          int64_t g = m / mg;
          double acc = b ? at(b->data<T>(), m) : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            const T* xc = px + (n * c_in + g * cg + c) * x_spatial;
            const T* wc = pw + (m * cg + c) * k_size;
            for (const Tap& t : taps) acc += at(xc, t.x) * at(wc, t.k);
          }
          py[(n * m_out + m) * y_spatial + pos] = narrow<T>(compute_t<T>(acc));
        }
      }
      ++pos;
    });
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void conv_transpose_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* b = ctx.optional_input(2);
  check_nc_spatial(ctx, x, "X");
  ctx.check(w.rank() == x.rank(), "W ", dims_str(w.dims()), " must have the rank of X ",
            dims_str(x.dims()));
  ctx.check(w.dtype() == x.dtype() && (!b || b->dtype() == x.dtype()), "X, W and B must have "
            "the same element type");
  int64_t n_batch = x.dim(0), c_in = x.dim(1);
  int64_t group = ctx.node().attr_int("group", 1);
  ctx.check(group > 0 && c_in % group == 0, "group ", group, " must divide the input channels ",
            c_in);
  ctx.check(w.dim(0) == c_in, "W ", dims_str(w.dims()), " must have ", c_in,
            " input channels (dim 0)");
  int64_t cg = c_in / group, mg = w.dim(1), m_out = mg * group;
  ctx.check(!b || (b->rank() == 1 && b->dim(0) == m_out), "B must have shape [", m_out, "], got ",
            b ? dims_str(b->dims()) : "");

  std::vector<int64_t> in = spatial_of(x);
  size_t rank = in.size();
  std::vector<int64_t> kernel = kernel_shape(ctx, spatial_of(w));
  std::vector<int64_t> stride = spatial_attr(ctx, "strides", rank, 1);
  std::vector<int64_t> dilation = spatial_attr(ctx, "dilations", rank, 1);
  std::vector<int64_t> out_pad = spatial_attr(ctx, "output_padding", rank, 0);
  std::vector<int64_t> pads = spatial_attr(ctx, "pads", rank, 0, 2);
  AutoPad auto_pad = auto_pad_attr(ctx);
  std::vector<int64_t> out_shape;
  if (ctx.node().has_attr("output_shape")) {
    out_shape = ctx.node().attr_ints("output_shape");
    // Some exporters give the full (N, C, spatial...) shape.
    if (out_shape.size() == rank + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
    ctx.check(out_shape.size() == rank, "output_shape ", dims_str(out_shape), " must have ",
              rank, " entries");
  }
  std::vector<int64_t> out(rank), pad_begin(rank);
  for (size_t d = 0; d < rank; ++d) {
    // The output the input would produce without any padding removed.
    int64_t full = stride[d] * (in[d] - 1) + out_pad[d] + (kernel[d] - 1) * dilation[d] + 1;
    if (!out_shape.empty() || auto_pad == AutoPad::SameUpper || auto_pad == AutoPad::SameLower) {
      out[d] = out_shape.empty() ? in[d] * stride[d] : out_shape[d];
      // Remove the surplus evenly; the odd element comes off the end for SAME_UPPER, else off
      // the beginning. An output larger than the input produces is padded at the end, as
      // output_padding would.
      int64_t total = std::max<int64_t>(0, full - out[d]);
      ctx.check(out[d] >= 0, "output_shape ", dims_str(out_shape), " has a negative entry");
      pad_begin[d] = auto_pad == AutoPad::SameUpper ? total / 2 : total - total / 2;
    } else {
      if (auto_pad == AutoPad::Valid) pads[d] = pads[d + rank] = 0;
      out[d] = full - pads[d] - pads[d + rank];
      pad_begin[d] = pads[d];
      ctx.check(out[d] >= 0, "pads ", dims_str(pads), " remove more than axis ", d, " holds");
    }
  }
  std::vector<int64_t> dims = {n_batch, m_out};
  dims.insert(dims.end(), out.begin(), out.end());
  int64_t x_spatial = shape_numel(in), y_spatial = shape_numel(out);
  int64_t k_size = shape_numel(kernel);
  std::vector<int64_t> ys = strides_of(out);

  // Every input element scatters its contribution, times each kernel weight, to the outputs.
  std::vector<double> acc(size_t(shape_numel(dims)), 0.0);
  Tensor y(x.dtype(), dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    int64_t i = 0;
    for_each_index(in, [&](const std::vector<int64_t>& ip) {
      int64_t k = 0;
      for_each_index(kernel, [&](const std::vector<int64_t>& kk) {
        int64_t o = 0;
        bool inside = true;
        for (size_t d = 0; d < rank && inside; ++d) {
          int64_t p = ip[d] * stride[d] - pad_begin[d] + kk[d] * dilation[d];
          inside = p >= 0 && p < out[d];
          o += p * ys[d];
        }
        if (inside) {
          for (int64_t n = 0; n < n_batch; ++n)
            for (int64_t c = 0; c < c_in; ++c) {
              int64_t g = c / cg;
              double v = at(px, (n * c_in + c) * x_spatial + i);
              for (int64_t m = 0; m < mg; ++m)
                acc[size_t((n * m_out + g * mg + m) * y_spatial + o)] +=
                    v * at(pw, (c * mg + m) * k_size + k);
            }
        }
        ++k;
      });
      ++i;
    });
    T* py = y.mutable_data<T>();
    for (int64_t j = 0; j < y.numel(); ++j) {
      double bias = b ? at(b->data<T>(), (j / y_spatial) % m_out) : 0.0;
      py[j] = narrow<T>(compute_t<T>(acc[size_t(j)] + bias));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Samples x (one channel's spatial data, dims `in`) at fractional position p by multilinear
// interpolation; positions outside the input read as zero.
template <class T>
double sample_linear(const T* x, const std::vector<int64_t>& in, const std::vector<int64_t>& xs,
                     const std::vector<double>& p) {
  size_t rank = in.size();
  double v = 0;
  // Visit the 2^rank corners around p.
  for (int64_t corner = 0; corner < (int64_t(1) << rank); ++corner) {
    double weight = 1;
    int64_t off = 0;
    bool inside = true;
    for (size_t d = 0; d < rank && inside; ++d) {
      double lo = std::floor(p[d]);
      bool high = (corner >> d) & 1;
      int64_t c = int64_t(lo) + (high ? 1 : 0);
      weight *= high ? p[d] - lo : 1 - (p[d] - lo);
      inside = c >= 0 && c < in[d];
      off += c * xs[d];
    }
    if (inside && weight != 0) v += weight * at(x, off);
  }
  return v;
}

void deform_conv_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& offset = ctx.input(2);
  const Tensor* b = ctx.optional_input(3);
  const Tensor* mask = ctx.optional_input(4);
  check_nc_spatial(ctx, x, "X");
  ctx.check(w.rank() == x.rank(), "W ", dims_str(w.dims()), " must have the rank of X ",
            dims_str(x.dims()));
  int64_t n_batch = x.dim(0), c_in = x.dim(1), m_out = w.dim(0);
  int64_t group = ctx.node().attr_int("group", 1);
  int64_t offset_group = ctx.node().attr_int("offset_group", 1);
  ctx.check(group > 0 && c_in % group == 0 && m_out % group == 0, "group ", group,
            " must divide the input channels ", c_in, " and the output channels ", m_out);
  ctx.check(offset_group > 0 && c_in % offset_group == 0, "offset_group ", offset_group,
            " must divide the input channels ", c_in);
  int64_t cg = c_in / group, mg = m_out / group, c_per_off = c_in / offset_group;
  ctx.check(w.dim(1) == cg, "W ", dims_str(w.dims()), " must have ", cg,
            " input channels per group");
  Window win = sliding_window(ctx, spatial_of(x), kernel_shape(ctx, spatial_of(w)));
  size_t rank = win.rank();
  int64_t k_size = shape_numel(win.kernel);
  int64_t x_spatial = shape_numel(win.in), y_spatial = shape_numel(win.out);

  // offset: (N, offset_group * kernel size * rank, out...), a displacement per spatial axis for
  // every kernel position; mask: (N, offset_group * kernel size, out...), a factor for each.
  std::vector<int64_t> want_offset = {n_batch, offset_group * k_size * int64_t(rank)};
  want_offset.insert(want_offset.end(), win.out.begin(), win.out.end());
  ctx.check(offset.dims() == want_offset, "offset must have shape ", dims_str(want_offset),
            ", got ", dims_str(offset.dims()));
  std::vector<int64_t> want_mask = {n_batch, offset_group * k_size};
  want_mask.insert(want_mask.end(), win.out.begin(), win.out.end());
  ctx.check(!mask || mask->dims() == want_mask, "mask must have shape ", dims_str(want_mask),
            ", got ", mask ? dims_str(mask->dims()) : "");
  ctx.check(!b || (b->rank() == 1 && b->dim(0) == m_out), "B must have shape [", m_out, "]");
  for (const Tensor* t : {&w, &offset, b, mask})
    ctx.check(!t || t->dtype() == x.dtype(), "all inputs must have the element type of X");

  std::vector<int64_t> xs = strides_of(win.in);
  std::vector<int64_t> kernel_strides = strides_of(win.kernel);
  std::vector<int64_t> dims = {n_batch, m_out};
  dims.insert(dims.end(), win.out.begin(), win.out.end());
  Tensor y(x.dtype(), dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    const T* pw = w.data<T>();
    const T* po = offset.data<T>();
    T* py = y.mutable_data<T>();
    // sampled[c][k]: input channel c read at kernel position k's displaced location.
    std::vector<double> sampled(size_t(c_in * k_size));
    std::vector<double> p(rank);
    int64_t pos = 0;
    for_each_index(win.out, [&](const std::vector<int64_t>& o) {
      for (int64_t n = 0; n < n_batch; ++n) {
        for (int64_t c = 0; c < c_in; ++c) {
          int64_t og = c / c_per_off;
          for (int64_t k = 0; k < k_size; ++k) {
            for (size_t d = 0; d < rank; ++d) {
              int64_t kd = (k / kernel_strides[d]) % win.kernel[d];
              int64_t ch = (og * k_size + k) * int64_t(rank) + int64_t(d);
              double shift =
                  at(po, (n * offset_group * k_size * int64_t(rank) + ch) * y_spatial + pos);
              p[d] = double(o[d] * win.stride[d] - win.pad_begin[d] + kd * win.dilation[d]) + shift;
            }
            double v = sample_linear(px + (n * c_in + c) * x_spatial, win.in, xs, p);
            if (mask)
              v *= at(mask->data<T>(),
                      (n * offset_group * k_size + og * k_size + k) * y_spatial + pos);
            sampled[size_t(c * k_size + k)] = v;
          }
        }
        for (int64_t m = 0; m < m_out; ++m) {
          int64_t g = m / mg;
          double acc = b ? at(b->data<T>(), m) : 0.0;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t k = 0; k < k_size; ++k)
              acc += sampled[size_t((g * cg + c) * k_size + k)] * at(pw, (m * cg + c) * k_size + k);
          py[(n * m_out + m) * y_spatial + pos] = narrow<T>(compute_t<T>(acc));
        }
      }
      ++pos;
    });
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void col2im_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto image = int_list_input(ctx, 1);
  auto block = int_list_input(ctx, 2);
  ctx.check(image && block && image->size() == block->size() && !image->empty(), "image_shape "
            "and block_shape must be non-empty 1-D tensors of the same length");
  ctx.check(x.rank() == 3, "input must have shape (N, C * block size, L), got ",
            dims_str(x.dims()));
  int64_t k_size = shape_numel(*block);
  ctx.check(k_size > 0 && x.dim(1) % k_size == 0, "dim 1 of ", dims_str(x.dims()),
            " must be a multiple of the block size ", k_size);
  // Col2Im undoes an im2col over the image: the same window geometry as a Conv on the image.
  Window win = sliding_window(ctx, *image, *block);
  int64_t blocks = shape_numel(win.out);
  ctx.check(x.dim(2) == blocks, "input has ", x.dim(2), " blocks, but image ", dims_str(*image),
            " holds ", blocks, " windows of ", dims_str(*block));
  int64_t n_batch = x.dim(0), channels = x.dim(1) / k_size;
  int64_t y_spatial = shape_numel(*image);
  std::vector<int64_t> dims = {n_batch, channels};
  dims.insert(dims.end(), image->begin(), image->end());
  std::vector<double> acc(size_t(shape_numel(dims)), 0.0);
  Tensor y(x.dtype(), dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    int64_t l = 0;
    for_each_index(win.out, [&](const std::vector<int64_t>& o) {
      for (const Tap& t : window_taps(win, o))
        for (int64_t n = 0; n < n_batch; ++n)
          for (int64_t c = 0; c < channels; ++c)
            acc[size_t((n * channels + c) * y_spatial + t.x)] +=
                at(px, (n * x.dim(1) + c * k_size + t.k) * blocks + l);
      ++l;
    });
    T* py = y.mutable_data<T>();
    for (int64_t i = 0; i < y.numel(); ++i) py[i] = narrow<T>(compute_t<T>(acc[size_t(i)]));
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- windowed pools

// The p of LpPool and GlobalLpPool: a float attribute in opset 1, an int since.
double lp_order(const KernelContext& ctx) {
  const Attribute* a = ctx.node().find_attr("p");
  if (!a) return 2;
  double p = a->kind == AttrKind::Float ? double(a->f) : double(ctx.node().attr_int("p"));
  ctx.check(p > 0, "p must be positive, got ", p);
  return p;
}

// Runs a pool over every (batch, channel) plane: f(plane, taps, o, out_i) returns output
// element out_i, at spatial position o of its plane, from the plane's elements under the taps.
// Handles the geometry; the pools differ only in f.
template <class F>
Tensor pool(const KernelContext& ctx, const Tensor& x, const Window& win, F f) {
  std::vector<int64_t> dims = {x.dim(0), x.dim(1)};
  dims.insert(dims.end(), win.out.begin(), win.out.end());
  Tensor y(x.dtype(), dims);
  int64_t planes = x.dim(0) * x.dim(1);
  int64_t x_spatial = shape_numel(win.in), y_spatial = shape_numel(win.out);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool is not supported");
    } else {
      const T* px = x.data<T>();
      T* py = y.mutable_data<T>();
      int64_t pos = 0;
      for_each_index(win.out, [&](const std::vector<int64_t>& o) {
        std::vector<Tap> taps = window_taps(win, o);
        for (int64_t p = 0; p < planes; ++p)
          py[p * y_spatial + pos] = f(px + p * x_spatial, taps, o, p * y_spatial + pos);
        ++pos;
      });
    }
    return 0;
  });
  return y;
}

Window pool_window(const KernelContext& ctx, const Tensor& x) {
  check_nc_spatial(ctx, x, "X");
  std::vector<int64_t> in = spatial_of(x);
  std::vector<int64_t> kernel = spatial_attr(ctx, "kernel_shape", in.size(), 0);
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  return sliding_window(ctx, in, kernel);
}

void average_pool_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Window win = pool_window(ctx, x);
  bool include_pad = ctx.node().attr_int("count_include_pad", 0) != 0;
  if (!is_float(x.dtype())) ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
  ctx.set_output(0, pool(ctx, x, win, [&](const auto* plane, const std::vector<Tap>& taps,
                                          const std::vector<int64_t>& o, int64_t) {
                   using T = std::remove_cvref_t<decltype(*plane)>;
                   double sum = 0;
                   for (const Tap& t : taps) sum += double(widen(plane[t.x]));
                   int64_t count = include_pad ? padded_window_size(win, o) : int64_t(taps.size());
                   return narrow<T>(compute_t<T>(sum / double(count)));
                 }));
}

void lp_pool_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Window win = pool_window(ctx, x);
  double p = lp_order(ctx);
  if (!is_float(x.dtype())) ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
  // Padding contributes zeros, which add nothing to the sum.
  ctx.set_output(0, pool(ctx, x, win, [&](const auto* plane, const std::vector<Tap>& taps,
                                          const std::vector<int64_t>&, int64_t) {
                   using T = std::remove_cvref_t<decltype(*plane)>;
                   double sum = 0;
                   for (const Tap& t : taps)
                     sum += std::pow(std::abs(double(widen(plane[t.x]))), p);
                   return narrow<T>(compute_t<T>(std::pow(sum, 1 / p)));
                 }));
}

void max_pool_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Window win = pool_window(ctx, x);
  bool column_major = ctx.node().attr_int("storage_order", 0) != 0;
  DType dt = x.dtype();
  ctx.check(is_float(dt) || dt == DType::I8 || dt == DType::U8, "element type ", dtype_name(dt),
            " is not supported (needs a float type, int8 or uint8)");
  int64_t x_spatial = shape_numel(win.in);
  // Indices count over the whole input: the plane's offset, then the position within the plane
  // in row-major or (storage_order 1) column-major order.
  std::vector<int64_t> col_strides(win.rank(), 1);
  for (size_t d = 1; d < win.rank(); ++d) col_strides[d] = col_strides[d - 1] * win.in[d - 1];
  std::vector<int64_t> row_strides = strides_of(win.in);
  int64_t y_spatial = shape_numel(win.out);
  std::vector<int64_t> argmax(size_t(x.dim(0) * x.dim(1) * y_spatial));
  Tensor y = pool(ctx, x, win, [&](const auto* plane, const std::vector<Tap>& taps,
                                   const std::vector<int64_t>&, int64_t out_i) {
    using T = std::remove_cvref_t<decltype(*plane)>;
    int64_t best = -1;
    for (const Tap& t : taps)
      if (best < 0 || widen(plane[t.x]) > widen(plane[best])) best = t.x;
    int64_t index = -1;
    if (best >= 0) {
      index = 0;
      for (size_t d = 0; d < win.rank(); ++d)
        index +=
            (best / row_strides[d]) % win.in[d] * (column_major ? col_strides[d] : row_strides[d]);
      index += out_i / y_spatial * x_spatial;
    }
    argmax[size_t(out_i)] = index;
    // A window entirely in the padding has no maximum; it yields the type's lowest value.
    return best >= 0 ? plane[best] : T(std::numeric_limits<compute_t<T>>::lowest());
  });
  if (ctx.wants_output(1)) ctx.set_output(1, Tensor::from_vector(y.dims(), argmax));
  ctx.set_output(0, std::move(y));
}

void max_unpool_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  check_nc_spatial(ctx, x, "X");
  ctx.check(idx.dims() == x.dims() && idx.dtype() == DType::I64, "I must be int64 with the "
            "shape of X ", dims_str(x.dims()), ", got ", dtype_name(idx.dtype()),
            dims_str(idx.dims()));
  std::vector<int64_t> in = spatial_of(x);
  size_t rank = in.size();
  ctx.check(ctx.node().has_attr("kernel_shape"), "kernel_shape is required");
  std::vector<int64_t> kernel = spatial_attr(ctx, "kernel_shape", rank, 0);
  std::vector<int64_t> stride = spatial_attr(ctx, "strides", rank, 1);
  std::vector<int64_t> pads = spatial_attr(ctx, "pads", rank, 0, 2);
  auto out_shape = int_list_input(ctx, 2);
  // Indices address the input of the MaxPool this undoes, as its attributes give it. A larger
  // output_shape extends that tensor with zeros at the end of each axis (as ONNX's reference
  // implementation does).
  std::vector<int64_t> dims = {x.dim(0), x.dim(1)};
  for (size_t d = 0; d < rank; ++d)
    dims.push_back((in[d] - 1) * stride[d] + kernel[d] - pads[d] - pads[d + rank]);
  Tensor y(x.dtype(), dims);
  int64_t total = y.numel();
  const int64_t* pi = idx.data<int64_t>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    ctx.check(pi[i] >= 0 && pi[i] < total, "index ", pi[i], " is out of range for the unpooled ",
              "tensor ", dims_str(dims), " (", total, " elements)");
    assign_element(y, pi[i], x, i);
  }
  if (out_shape && *out_shape != dims) {
    ctx.check(out_shape->size() == x.rank(), "output_shape ", dims_str(*out_shape), " must have ",
              x.rank(), " entries");
    for (size_t d = 0; d < x.rank(); ++d)
      ctx.check((*out_shape)[d] >= dims[d] && (d >= 2 || (*out_shape)[d] == dims[d]),
                "output_shape ", dims_str(*out_shape), " is smaller than the unpooled tensor ",
                dims_str(dims));
    Tensor padded(x.dtype(), *out_shape);
    std::vector<int64_t> ps = strides_of(*out_shape);
    int64_t i = 0;
    for_each_index(dims, [&](const std::vector<int64_t>& o) {
      int64_t to = 0;
      for (size_t d = 0; d < o.size(); ++d) to += o[d] * ps[d];
      assign_element(padded, to, y, i++);
    });
    y = std::move(padded);
  }
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- global pools

// Reduces each (batch, channel) plane to one value, keeping the spatial axes as size 1.
template <class F>
void global_pool(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 2, "X must have shape (N, C, ...), got ", dims_str(x.dims()));
  std::vector<int64_t> dims(x.rank(), 1);
  dims[0] = x.dim(0);
  dims[1] = x.dim(1);
  int64_t planes = x.dim(0) * x.dim(1);
  int64_t size = planes ? x.numel() / planes : 0;
  Tensor y(x.dtype(), dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<double> v(static_cast<size_t>(size));
    for (int64_t p = 0; p < planes; ++p) {
      for (int64_t i = 0; i < size; ++i) v[size_t(i)] = at(px, p * size + i);
      py[p] = narrow<T>(compute_t<T>(f(v)));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void global_average_pool_k(KernelContext& ctx) {
  global_pool(ctx, [](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e;
    return s / double(v.size());
  });
}

void global_max_pool_k(KernelContext& ctx) {
  global_pool(ctx, [](const std::vector<double>& v) {
    double m = -std::numeric_limits<double>::infinity();
    for (double e : v) m = std::max(m, e);
    return m;
  });
}

void global_lp_pool_k(KernelContext& ctx) {
  double p = lp_order(ctx);
  global_pool(ctx, [p](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += std::pow(std::abs(e), p);
    return std::pow(s, 1 / p);
  });
}

// ---------------------------------------------------------------- region pools

void max_roi_pool_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  ctx.check(x.rank() == 4, "X must have shape (N, C, H, W), got ", dims_str(x.dims()));
  ctx.check(rois.rank() == 2 && rois.dim(1) == 5, "rois must have shape (num_rois, 5), got ",
            dims_str(rois.dims()));
  std::vector<int64_t> pooled = ctx.node().attr_ints("pooled_shape");
  ctx.check(pooled.size() == 2 && pooled[0] > 0 && pooled[1] > 0, "pooled_shape must be two "
            "positive sizes, got ", dims_str(pooled));
  double scale = ctx.node().attr_float("spatial_scale", 1.0f);
  int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  int64_t ph_n = pooled[0], pw_n = pooled[1];
  Tensor y(x.dtype(), {rois.dim(0), channels, ph_n, pw_n});
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t r = 0; r < rois.dim(0); ++r) {
      int64_t batch = int64_t(rois.as_double(r * 5));
      ctx.check(batch >= 0 && batch < x.dim(0), "roi ", r, " names batch ", batch,
                ", outside [0, ", x.dim(0), ")");
      // Region corners, scaled and rounded to pixels; the region is at least one pixel. The
      // product is taken in the element type, which decides halfway cases.
      auto corner = [&](int j) {
        using C = compute_t<T>;
        return int64_t(std::round(C(rois.as_double(r * 5 + j)) * C(scale)));
      };
      int64_t x1 = corner(1), y1 = corner(2), x2 = corner(3), y2 = corner(4);
      double bin_h = double(std::max<int64_t>(y2 - y1 + 1, 1)) / double(ph_n);
      double bin_w = double(std::max<int64_t>(x2 - x1 + 1, 1)) / double(pw_n);
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = px + (batch * channels + c) * height * width;
        for (int64_t i = 0; i < ph_n; ++i) {
          for (int64_t j = 0; j < pw_n; ++j) {
            int64_t h0 =
                std::clamp<int64_t>(int64_t(std::floor(double(i) * bin_h)) + y1, 0, height);
            int64_t h1 =
                std::clamp<int64_t>(int64_t(std::ceil(double(i + 1) * bin_h)) + y1, 0, height);
            int64_t w0 = std::clamp<int64_t>(int64_t(std::floor(double(j) * bin_w)) + x1, 0, width);
            int64_t w1 =
                std::clamp<int64_t>(int64_t(std::ceil(double(j + 1) * bin_w)) + x1, 0, width);
            // An empty bin (the region is outside the image) yields 0.
            double m = h1 > h0 && w1 > w0 ? -std::numeric_limits<double>::infinity() : 0.0;
            for (int64_t h = h0; h < h1; ++h)
              for (int64_t w = w0; w < w1; ++w) m = std::max(m, at(plane, h * width + w));
            py[((r * channels + c) * ph_n + i) * pw_n + j] = narrow<T>(compute_t<T>(m));
          }
        }
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void roi_align_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& rois = ctx.input(1);
  const Tensor& batch_t = ctx.input(2);
  ctx.check(x.rank() == 4, "X must have shape (N, C, H, W), got ", dims_str(x.dims()));
  ctx.check(rois.rank() == 2 && rois.dim(1) == 4, "rois must have shape (num_rois, 4), got ",
            dims_str(rois.dims()));
  ctx.check(batch_t.rank() == 1 && batch_t.dim(0) == rois.dim(0) && is_integer(batch_t.dtype()),
            "batch_indices must be an integer tensor of shape [", rois.dim(0), "]");
  const Node& node = ctx.node();
  std::string mode = node.attr_string("mode", "avg");
  ctx.check(mode == "avg" || mode == "max", "unknown mode '", mode, "' (expected avg or max)");
  bool avg = mode == "avg";
  // RoiAlign-10 behaves as output_half_pixel; the half_pixel default came with opset 16.
  std::string coord = node.attr_string("coordinate_transformation_mode",
                                       ctx.opset() >= 16 ? "half_pixel" : "output_half_pixel");
  ctx.check(coord == "half_pixel" || coord == "output_half_pixel", "unknown "
            "coordinate_transformation_mode '", coord, "'");
  bool half_pixel = coord == "half_pixel";
  int64_t out_h = node.attr_int("output_height", 1), out_w = node.attr_int("output_width", 1);
  int64_t sampling = node.attr_int("sampling_ratio", 0);
  double scale = node.attr_float("spatial_scale", 1.0f);
  ctx.check(out_h > 0 && out_w > 0 && sampling >= 0, "output sizes must be positive and "
            "sampling_ratio non-negative");
  int64_t channels = x.dim(1), height = x.dim(2), width = x.dim(3);
  Tensor y(x.dtype(), {rois.dim(0), channels, out_h, out_w});
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t r = 0; r < rois.dim(0); ++r) {
      int64_t batch = batch_t.as_int(r);
      ctx.check(batch >= 0 && batch < x.dim(0), "batch index ", batch, " of roi ", r,
                " is outside [0, ", x.dim(0), ")");
      double offset = half_pixel ? 0.5 : 0.0;
      double x0 = rois.as_double(r * 4) * scale - offset;
      double y0 = rois.as_double(r * 4 + 1) * scale - offset;
      double x1 = rois.as_double(r * 4 + 2) * scale - offset;
      double y1 = rois.as_double(r * 4 + 3) * scale - offset;
      double roi_w = x1 - x0, roi_h = y1 - y0;
      if (!half_pixel) {
        roi_w = std::max(roi_w, 1.0);
        roi_h = std::max(roi_h, 1.0);
      }
      double bin_h = roi_h / double(out_h), bin_w = roi_w / double(out_w);
      int64_t grid_h = sampling > 0 ? sampling : int64_t(std::ceil(roi_h / double(out_h)));
      int64_t grid_w = sampling > 0 ? sampling : int64_t(std::ceil(roi_w / double(out_w)));
      double count = double(std::max<int64_t>(grid_h * grid_w, 1));
      for (int64_t c = 0; c < channels; ++c) {
        const T* plane = px + (batch * channels + c) * height * width;
        for (int64_t i = 0; i < out_h; ++i) {
          for (int64_t j = 0; j < out_w; ++j) {
            double acc = 0;
            bool any = false;
            for (int64_t gy = 0; gy < grid_h; ++gy) {
              for (int64_t gx = 0; gx < grid_w; ++gx) {
                double sy = y0 + double(i) * bin_h + (double(gy) + 0.5) * bin_h / double(grid_h);
                double sx = x0 + double(j) * bin_w + (double(gx) + 0.5) * bin_w / double(grid_w);
                // Bilinear weights of the four pixels around the sample; samples more than a
                // pixel outside the image contribute zero, nearer ones clamp to the border.
                double corner[4] = {0, 0, 0, 0};
                if (sy >= -1 && sy <= double(height) && sx >= -1 && sx <= double(width)) {
                  sy = std::max(sy, 0.0);
                  sx = std::max(sx, 0.0);
                  int64_t ylo = int64_t(sy), xlo = int64_t(sx), yhi, xhi;
                  if (ylo >= height - 1) yhi = ylo = height - 1, sy = double(ylo);
                  else yhi = ylo + 1;
                  if (xlo >= width - 1) xhi = xlo = width - 1, sx = double(xlo);
                  else xhi = xlo + 1;
                  double ly = sy - double(ylo), lx = sx - double(xlo), hy = 1 - ly, hx = 1 - lx;
                  corner[0] = hy * hx * at(plane, ylo * width + xlo);
                  corner[1] = hy * lx * at(plane, ylo * width + xhi);
                  corner[2] = ly * hx * at(plane, yhi * width + xlo);
                  corner[3] = ly * lx * at(plane, yhi * width + xhi);
                }
                if (avg) {
                  acc += corner[0] + corner[1] + corner[2] + corner[3];
                } else {
                  // Max mode takes the largest weighted corner term, not the largest
                  // interpolated value: what onnxruntime does and ONNX's own tests expect.
                  double m = std::max({corner[0], corner[1], corner[2], corner[3]});
                  acc = any ? std::max(acc, m) : m;
                  any = true;
                }
              }
            }
            py[((r * channels + c) * out_h + i) * out_w + j] =
                narrow<T>(compute_t<T>(avg ? acc / count : acc));
          }
        }
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_conv_pool_kernels(KernelRegistry& r) {
  r.add(OpKind::Conv, conv_k);
  r.add(OpKind::ConvTranspose, conv_transpose_k);
  r.add(OpKind::DeformConv, deform_conv_k);
  r.add(OpKind::Col2Im, col2im_k);
  r.add(OpKind::AveragePool, average_pool_k);
  r.add(OpKind::MaxPool, max_pool_k);
  r.add(OpKind::LpPool, lp_pool_k);
  r.add(OpKind::MaxUnpool, max_unpool_k);
  r.add(OpKind::GlobalAveragePool, global_average_pool_k);
  r.add(OpKind::GlobalMaxPool, global_max_pool_k);
  r.add(OpKind::GlobalLpPool, global_lp_pool_k);
  r.add(OpKind::MaxRoiPool, max_roi_pool_k);
  r.add(OpKind::RoiAlign, roi_align_k);
}

}  // namespace eave::ref
