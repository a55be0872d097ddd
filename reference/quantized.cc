// Reference kernels: linear quantization. QuantizeLinear / DequantizeLinear (per tensor, per
// axis, or per block along an axis), DynamicQuantizeLinear, and the integer compute ops
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv. Quantization rounds half to even
// and saturates to the integer type's range; integer products accumulate exactly (in 64 bits,
// stored as int32 like the spec's 32-bit accumulator).
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- helpers

constexpr bool is_quant_int(DType t) {
  return t == DType::U8 || t == DType::I8 || t == DType::U16 || t == DType::I16;
}

// Calls f(Q{}) for the 8- and 16-bit integer types quantized tensors use.
template <class F>
decltype(auto) visit_quant(const KernelContext& ctx, DType t, const char* what, F&& f) {
  switch (t) {
    case DType::U8: return f(uint8_t{});
    case DType::I8: return f(int8_t{});
    case DType::U16: return f(uint16_t{});
    case DType::I16: return f(int16_t{});
    default:
      ctx.fail(what, " has element type ", dtype_name(t),
               ", expected uint8, int8, uint16 or int16");
  }
}

// round(v) half to even, saturated to Q's range.
template <class Q>
Q saturate_round(double v) {
  if (std::isnan(v)) return Q(0);
  double r = std::nearbyint(v);
  r = std::max(r, double(std::numeric_limits<Q>::lowest()));
  r = std::min(r, double(std::numeric_limits<Q>::max()));
  return Q(r);
}

// Maps each element of x (by linear index) to its entry in a scale / zero-point tensor: a
// single entry for the whole tensor, one per index along `axis` (a 1-D parameter), or one per
// `block` consecutive indices along `axis` (a parameter of x's rank, opset 21).
struct ParamMap {
  enum class Mode { Tensor, Axis, Block } mode = Mode::Tensor;
  int64_t axis = 0, block = 0, axis_len = 1, inner = 1;
  std::vector<int64_t> x_dims, p_strides;

  int64_t operator()(int64_t i) const {
    switch (mode) {
      case Mode::Tensor: return 0;
      case Mode::Axis: return (i / inner) % axis_len;
      case Mode::Block: {
        int64_t off = 0;
        for (size_t d = x_dims.size(); d-- > 0;) {
          int64_t idx = i % x_dims[d];
          i /= x_dims[d];
          if (int64_t(d) == axis) idx /= block;
          off += idx * p_strides[d];
        }
        return off;
      }
    }
    return 0;
  }
};

ParamMap param_map(const KernelContext& ctx, const Tensor& x, const Tensor& p, const char* what) {
  ParamMap m;
  if (p.numel() == 1 && p.rank() <= 1) return m;
  const Node& node = ctx.node();
  ctx.check(x.rank() >= 1, what, " must be a scalar for a scalar input");
  m.axis = normalize_axis(ctx, node.attr_int("axis", 1), int64_t(x.rank()));
  m.block = node.attr_int("block_size", 0);
  int64_t len = x.dim(size_t(m.axis));
  if (m.block <= 0) {
    ctx.check(p.rank() == 1 && p.dim(0) == len, what, " must be a scalar or a 1-D tensor of ",
              len, " entries (axis ", m.axis, " of ", dims_str(x.dims()), "), got ",
              dims_str(p.dims()));
    m.mode = ParamMap::Mode::Axis;
    m.axis_len = len;
    m.inner = shape_numel(std::span(x.dims()).subspan(size_t(m.axis) + 1));
    return m;
  }
  std::vector<int64_t> want = x.dims();
  want[size_t(m.axis)] = (len + m.block - 1) / m.block;
  ctx.check(p.dims() == want, what, " must have shape ", dims_str(want), " for block_size ",
            m.block, " along axis ", m.axis, ", got ", dims_str(p.dims()));
  m.mode = ParamMap::Mode::Block;
  m.x_dims = x.dims();
  m.p_strides = strides_of(p.dims());
  return m;
}

// A zero point must be shaped like its scale; single values may be [] or [1].
void check_same_shape(const KernelContext& ctx, const Tensor& zp, const Tensor& scale,
                      const char* zp_name, const char* scale_name) {
  bool single = zp.numel() == 1 && scale.numel() == 1 && zp.rank() <= 1 && scale.rank() <= 1;
  ctx.check(single || zp.dims() == scale.dims(), zp_name, " has shape ", dims_str(zp.dims()),
            ", expected ", scale_name, "'s ", dims_str(scale.dims()));
}

// The output type of QuantizeLinear: the zero point's, else opset 21's output_dtype, else uint8.
DType quantized_type(const KernelContext& ctx) {
  if (const Tensor* zp = ctx.optional_input(2)) return zp->dtype();
  int64_t code = ctx.node().attr_int("output_dtype", 0);
  if (code == 0) return DType::U8;
  DType t = dtype_from_onnx(int32_t(code));
  ctx.check(is_quant_int(t), "output_dtype ", code, " is not a supported quantized type");
  return t;
}

// ---------------------------------------------------------------- Quantize / Dequantize

// y = saturate(round(x / scale) + zero_point)
void quantize_linear_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.optional_input(2);
  ctx.check(is_float(x.dtype()) || x.dtype() == DType::I32, "x has element type ",
            dtype_name(x.dtype()), ", expected a float type or int32");
  ctx.check(is_float(scale.dtype()), "y_scale must be a float tensor");
  DType qt = quantized_type(ctx);
  ParamMap map = param_map(ctx, x, scale, "y_scale");
  if (zp) check_same_shape(ctx, *zp, scale, "y_zero_point", "y_scale");
  Tensor y(qt, x.dims());
  visit_quant(ctx, qt, "y_zero_point", [&](auto qtag) {
    using Q = decltype(qtag);
    Q* py = y.mutable_data<Q>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t p = map(i);
      double z = zp ? zp->as_double(p) : 0.0;
      double q;
      if (x.dtype() == DType::I32) {
        q = std::nearbyint(x.as_double(i) / scale.as_double(p));
      } else {
        // Float inputs divide in single precision, as the spec's reference does.
        q = std::nearbyint(float(x.as_double(i)) / float(scale.as_double(p)));
      }
      py[i] = saturate_round<Q>(q + z);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// y = (x - zero_point) * scale, in the scale's type.
void dequantize_linear_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* zp = ctx.optional_input(2);
  ctx.check(is_quant_int(x.dtype()) || x.dtype() == DType::I32, "x has element type ",
            dtype_name(x.dtype()), ", expected uint8, int8, uint16, int16 or int32");
  if (zp) {
    ctx.check(zp->dtype() == x.dtype(), "x_zero_point has element type ",
              dtype_name(zp->dtype()), ", expected x's ", dtype_name(x.dtype()));
    check_same_shape(ctx, *zp, scale, "x_zero_point", "x_scale");
  }
  ParamMap map = param_map(ctx, x, scale, "x_scale");
  Tensor y(scale.dtype(), x.dims());
  visit_float(ctx, scale.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    T* py = y.mutable_data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t p = map(i);
      C z = zp ? C(zp->as_double(p)) : C(0);
      py[i] = narrow<T>(compute_t<T>((C(x.as_double(i)) - z) * C(scale.as_double(p))));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Quantizes x to uint8 with a scale and zero point chosen so that [min(x, 0), max(x, 0)] spans
// the whole uint8 range.
void dynamic_quantize_linear_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    float lo = 0, hi = 0;
    const T* px = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      float v = float(widen(px[i]));
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    float scale = (hi - lo) / 255.0f;
    // An all-zero input has no range; any scale represents it, keep 0 and zero point 0.
    uint8_t zp = scale > 0 ? saturate_round<uint8_t>(double(-lo / scale)) : uint8_t(0);
    Tensor y(DType::U8, x.dims());
    uint8_t* py = y.mutable_data<uint8_t>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      float q = scale > 0 ? std::nearbyint(float(widen(px[i])) / scale) : 0.0f;
      py[i] = saturate_round<uint8_t>(double(q) + zp);
    }
    ctx.set_output(0, std::move(y));
    ctx.set_output(1, Tensor::scalar<float>(scale));
    ctx.set_output(2, Tensor::scalar<uint8_t>(zp));
    return 0;
  });
}

// ---------------------------------------------------------------- integer matmul

// `t` (an operand or a per-tensor/row/column parameter) broadcast to `dims` as doubles.
std::vector<double> broadcast_to(const KernelContext& ctx, const Tensor& t,
                                 const std::vector<int64_t>& dims, const char* what) {
  bool ok = t.rank() <= dims.size();
  for (size_t i = 0; ok && i < t.rank(); ++i) {
    int64_t d = t.dim(t.rank() - 1 - i);
    ok = d == 1 || d == dims[dims.size() - 1 - i];
  }
  ctx.check(ok, what, " of shape ", dims_str(t.dims()), " does not broadcast to ",
            dims_str(dims));
  std::vector<double> out(size_t(shape_numel(dims)));
  for_each_broadcast(dims, {broadcast_strides(t.dims(), dims)},
                     [&](int64_t i, const std::vector<int64_t>& off) {
                       out[size_t(i)] = t.as_double(off[0]);
                     });
  return out;
}

// A per-row parameter of a's [.., M, K] may be given as a 1-D [M]; read it as [M, 1].
Tensor as_row_param(const Tensor& p, int64_t rows) {
  if (p.rank() == 1 && p.dim(0) == rows && rows != 1) return p.reshaped({rows, 1});
  return p;
}

// NumPy matmul of (a - a_zero_point) and (b - b_zero_point) for 8-bit integer a and b: int32
// accumulators plus what QLinearMatMul needs to rescale each one.
struct IntMatMul {
  std::vector<int64_t> a_dims, b_dims, out_dims;  // a, b and the result as [batch..., rows, cols]
  std::vector<int64_t> result_dims;               // with the 1-D operands' axes dropped
  int64_t m = 0, k = 0, n = 0, batches = 0;
  std::vector<int64_t> acc;

  IntMatMul(const KernelContext& ctx, const Tensor& a, const Tensor* a_zp, const Tensor& b,
            const Tensor* b_zp) {
    for (const Tensor* t : {&a, &b})
      ctx.check(t->dtype() == DType::U8 || t->dtype() == DType::I8, "matrix inputs must be ",
                "uint8 or int8, got ", dtype_name(t->dtype()));
    ctx.check(a.rank() >= 1 && b.rank() >= 1, "matrix inputs must have rank >= 1");
    a_dims = a.dims();
    b_dims = b.dims();
    if (a.rank() == 1) a_dims.insert(a_dims.begin(), 1);
    if (b.rank() == 1) b_dims.push_back(1);
    m = a_dims[a_dims.size() - 2];
    k = a_dims.back();
    n = b_dims.back();
    ctx.check(b_dims[b_dims.size() - 2] == k, "cannot multiply ", dims_str(a.dims()), " by ",
              dims_str(b.dims()));
    std::span<const int64_t> a_batch = std::span(a_dims).first(a_dims.size() - 2);
    std::span<const int64_t> b_batch = std::span(b_dims).first(b_dims.size() - 2);
    std::vector<int64_t> batch = broadcast_shapes(ctx, {a_batch, b_batch});
    batches = shape_numel(batch);
    std::vector<int64_t> full_a = batch, full_b = batch;
    full_a.insert(full_a.end(), {m, k});
    full_b.insert(full_b.end(), {k, n});
    out_dims = batch;
    out_dims.insert(out_dims.end(), {m, n});
    result_dims = batch;
    if (a.rank() > 1) result_dims.push_back(m);
    if (b.rank() > 1) result_dims.push_back(n);
    std::vector<double> av = operand(ctx, a.reshaped(a_dims), a_zp, full_a, m, "a_zero_point");
    std::vector<double> bv = operand(ctx, b.reshaped(b_dims), b_zp, full_b, 1, "b_zero_point");
    a_dims = full_a;
    b_dims = full_b;
    acc.assign(size_t(batches * m * n), 0);
    for (int64_t bt = 0; bt < batches; ++bt)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t s = 0;
          for (int64_t q = 0; q < k; ++q)
            s += int64_t(av[size_t((bt * m + i) * k + q)]) *
                 int64_t(bv[size_t((bt * k + q) * n + j)]);
          acc[size_t((bt * m + i) * n + j)] = s;
        }
  }

  // x - zero_point over the broadcast operand shape.
  static std::vector<double> operand(const KernelContext& ctx, const Tensor& x, const Tensor* zp,
                                     const std::vector<int64_t>& full, int64_t rows,
                                     const char* what) {
    std::vector<double> v = broadcast_to(ctx, x, full, "input");
    if (zp) {
      ctx.check(zp->dtype() == x.dtype(), what, " has element type ", dtype_name(zp->dtype()),
                ", expected ", dtype_name(x.dtype()));
      std::vector<double> z = broadcast_to(ctx, as_row_param(*zp, rows), full, what);
      for (size_t i = 0; i < v.size(); ++i) v[i] -= z[i];
    }
    return v;
  }
};

void matmul_integer_k(KernelContext& ctx) {
  IntMatMul mm(ctx, ctx.input(0), ctx.optional_input(2), ctx.input(1), ctx.optional_input(3));
  Tensor y(DType::I32, mm.result_dims);
  int32_t* py = y.mutable_data<int32_t>();
  for (size_t i = 0; i < mm.acc.size(); ++i) py[i] = int32_t(mm.acc[i]);
  ctx.set_output(0, std::move(y));
}

// Inputs a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp:
// y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zp), a's parameters per row and
// b's per column.
void qlinear_matmul_k(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  IntMatMul mm(ctx, a, &ctx.input(2), b, &ctx.input(5));
  std::vector<double> a_scale =
      broadcast_to(ctx, as_row_param(ctx.input(1), mm.m), mm.a_dims, "a_scale");
  std::vector<double> b_scale = broadcast_to(ctx, ctx.input(4), mm.b_dims, "b_scale");
  std::vector<double> y_scale = broadcast_to(ctx, ctx.input(6), mm.out_dims, "y_scale");
  const Tensor& y_zp = ctx.input(7);
  std::vector<double> y_zero = broadcast_to(ctx, y_zp, mm.out_dims, "y_zero_point");
  Tensor y(y_zp.dtype(), mm.result_dims);
  visit_quant(ctx, y_zp.dtype(), "y_zero_point", [&](auto qtag) {
    using Q = decltype(qtag);
    Q* py = y.mutable_data<Q>();
    for (int64_t bt = 0; bt < mm.batches; ++bt)
      for (int64_t i = 0; i < mm.m; ++i)
        for (int64_t j = 0; j < mm.n; ++j) {
          size_t o = size_t((bt * mm.m + i) * mm.n + j);
          double sa = a_scale[size_t((bt * mm.m + i) * mm.k)];
          double sb = b_scale[size_t(bt * mm.k * mm.n + j)];
          double real = double(mm.acc[o]) * sa * sb;
          py[o] = saturate_round<Q>(std::nearbyint(real / y_scale[o]) + y_zero[o]);
        }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- integer convolution

// Geometry of an N-d convolution of x [N, C, D1..] with w [M, C/group, K1..], from the node's
// auto_pad, dilations, group, kernel_shape, pads and strides attributes.
struct ConvGeometry {
  int64_t batch = 0, in_ch = 0, out_ch = 0, group = 1;
  std::vector<int64_t> in, kernel, out, strides, dilations, pad_begin;

  ConvGeometry(const KernelContext& ctx, const Tensor& x, const Tensor& w) {
    const Node& node = ctx.node();
    ctx.check(x.rank() >= 3, "X must have shape [N, C, D1, ...], got ", dims_str(x.dims()));
    ctx.check(w.rank() == x.rank(), "W must have rank ", x.rank(), ", got ", dims_str(w.dims()));
    size_t sp = x.rank() - 2;
    batch = x.dim(0);
    in_ch = x.dim(1);
    out_ch = w.dim(0);
    group = node.attr_int("group", 1);
    ctx.check(group >= 1 && in_ch % group == 0 && out_ch % group == 0 &&
                  w.dim(1) * group == in_ch,
              "group ", group, " does not fit X ", dims_str(x.dims()), " and W ",
              dims_str(w.dims()));
    in.assign(x.dims().begin() + 2, x.dims().end());
    kernel.assign(w.dims().begin() + 2, w.dims().end());
    if (node.has_attr("kernel_shape"))
      ctx.check(node.attr_ints("kernel_shape") == kernel, "kernel_shape ",
                dims_str(node.attr_ints("kernel_shape")), " does not match W ",
                dims_str(w.dims()));
    strides = node.attr_ints("strides", std::vector<int64_t>(sp, 1));
    dilations = node.attr_ints("dilations", std::vector<int64_t>(sp, 1));
    std::vector<int64_t> pads = node.attr_ints("pads", std::vector<int64_t>(2 * sp, 0));
    ctx.check(strides.size() == sp && dilations.size() == sp && pads.size() == 2 * sp,
              "strides, dilations and pads must have ", sp, ", ", sp, " and ", 2 * sp,
              " entries");
    for (size_t d = 0; d < sp; ++d)
      ctx.check(strides[d] >= 1 && dilations[d] >= 1 && pads[d] >= 0 && pads[sp + d] >= 0,
                "strides and dilations must be positive and pads not negative");
    std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
    pad_begin.assign(sp, 0);
    out.assign(sp, 0);
    for (size_t d = 0; d < sp; ++d) {
      int64_t span = (kernel[d] - 1) * dilations[d] + 1;
      if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
        out[d] = (in[d] + strides[d] - 1) / strides[d];
        int64_t total = std::max<int64_t>(0, (out[d] - 1) * strides[d] + span - in[d]);
        pad_begin[d] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      } else if (auto_pad == "VALID") {
        out[d] = in[d] >= span ? (in[d] - span) / strides[d] + 1 : 0;
      } else {
        ctx.check(auto_pad == "NOTSET", "unknown auto_pad '", auto_pad, "'");
        int64_t padded = in[d] + pads[d] + pads[sp + d];
        out[d] = padded >= span ? (padded - span) / strides[d] + 1 : 0;
        pad_begin[d] = pads[d];
      }
    }
  }

  std::vector<int64_t> out_dims() const {
    std::vector<int64_t> d = {batch, out_ch};
    d.insert(d.end(), out.begin(), out.end());
    return d;
  }

  // acc[n, m, o...] = sum over the group's channels and kernel taps of x[n, c, i..] * w[m, c, k..]
  // with x and w given as values already shifted by their zero points; padding reads as 0.
  std::vector<int64_t> run(const std::vector<int64_t>& xv, const std::vector<int64_t>& wv) const {
    size_t sp = in.size();
    int64_t out_sp = shape_numel(out), in_sp = shape_numel(in), k_sp = shape_numel(kernel);
    int64_t c_per_group = in_ch / group, m_per_group = out_ch / group;
    std::vector<int64_t> acc(size_t(batch * out_ch * out_sp), 0);
    std::vector<int64_t> o_idx(sp), k_idx(sp);
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t m = 0; m < out_ch; ++m) {
        int64_t g = m / m_per_group;
        for (int64_t o = 0; o < out_sp; ++o) {
          unravel(o, out, o_idx);
          int64_t s = 0;
          for (int64_t c = 0; c < c_per_group; ++c) {
            int64_t ic = g * c_per_group + c;
            for (int64_t kk = 0; kk < k_sp; ++kk) {
              unravel(kk, kernel, k_idx);
              int64_t off = 0;
              bool inside = true;
              for (size_t d = 0; d < sp && inside; ++d) {
                int64_t pos = o_idx[d] * strides[d] - pad_begin[d] + k_idx[d] * dilations[d];
                inside = pos >= 0 && pos < in[d];
                off = off * in[d] + pos;
              }
              if (!inside) continue;
              s += xv[size_t((n * in_ch + ic) * in_sp + off)] *
                   wv[size_t((m * c_per_group + c) * k_sp + kk)];
            }
          }
          acc[size_t((n * out_ch + m) * out_sp + o)] = s;
        }
      }
    return acc;
  }

  static void unravel(int64_t i, const std::vector<int64_t>& dims, std::vector<int64_t>& idx) {
    for (size_t d = dims.size(); d-- > 0;) {
      idx[d] = i % dims[d];
      i /= dims[d];
    }
  }
};

// x - x_zero_point (a single value).
std::vector<int64_t> shift_input(const KernelContext& ctx, const Tensor& x, const Tensor* zp) {
  ctx.check(x.dtype() == DType::U8 || x.dtype() == DType::I8, "x must be uint8 or int8, got ",
            dtype_name(x.dtype()));
  int64_t z = 0;
  if (zp) {
    ctx.check(zp->dtype() == x.dtype() && zp->numel() == 1,
              "x_zero_point must be a single ", dtype_name(x.dtype()), " value, got ",
              dtype_name(zp->dtype()), dims_str(zp->dims()));
    z = zp->as_int(0);
  }
  std::vector<int64_t> v(size_t(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) v[size_t(i)] = x.as_int(i) - z;
  return v;
}

// w - w_zero_point, the zero point per tensor or per output channel.
std::vector<int64_t> shift_weight(const KernelContext& ctx, const Tensor& w, const Tensor* zp) {
  ctx.check(w.dtype() == DType::U8 || w.dtype() == DType::I8, "w must be uint8 or int8, got ",
            dtype_name(w.dtype()));
  int64_t m = w.dim(0), per = m ? w.numel() / m : 0;
  if (zp) {
    ctx.check(zp->dtype() == w.dtype() && zp->rank() <= 1 &&
                  (zp->numel() == 1 || zp->numel() == m),
              "w_zero_point must be a single ", dtype_name(w.dtype()), " value or one per ",
              "output channel (", m, "), got ", dtype_name(zp->dtype()), dims_str(zp->dims()));
  }
  std::vector<int64_t> v(size_t(w.numel()));
  for (int64_t i = 0; i < w.numel(); ++i) {
    int64_t z = zp ? zp->as_int(zp->numel() == 1 ? 0 : i / per) : 0;
    v[size_t(i)] = w.as_int(i) - z;
  }
  return v;
}

void conv_integer_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  ConvGeometry geo(ctx, x, w);
  std::vector<int64_t> acc = geo.run(shift_input(ctx, x, ctx.optional_input(2)),
                                     shift_weight(ctx, w, ctx.optional_input(3)));
  Tensor y(DType::I32, geo.out_dims());
  int32_t* py = y.mutable_data<int32_t>();
  for (size_t i = 0; i < acc.size(); ++i) py[i] = int32_t(acc[i]);
  ctx.set_output(0, std::move(y));
}

// Inputs x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B (int32, optional):
// y = saturate(round((acc + B[m]) * x_scale * w_scale[m] / y_scale) + y_zp).
void qlinear_conv_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  ConvGeometry geo(ctx, x, w);
  std::vector<int64_t> acc =
      geo.run(shift_input(ctx, x, &ctx.input(2)), shift_weight(ctx, w, &ctx.input(5)));
  auto single = [&](size_t i, const char* what) {
    const Tensor& t = ctx.input(i);
    ctx.check(t.numel() == 1, what, " must hold a single value, got ", dims_str(t.dims()));
    return t.as_double(0);
  };
  double x_scale = single(1, "x_scale");
  double y_scale = single(6, "y_scale");
  const Tensor& w_scale = ctx.input(4);
  ctx.check(w_scale.rank() <= 1 && (w_scale.numel() == 1 || w_scale.numel() == geo.out_ch),
            "w_scale must be a single value or one per output channel (", geo.out_ch, "), got ",
            dims_str(w_scale.dims()));
  const Tensor* bias = ctx.optional_input(8);
  if (bias)
    ctx.check(bias->dtype() == DType::I32 && bias->dims() == std::vector<int64_t>{geo.out_ch},
              "B must be int32 of shape [", geo.out_ch, "], got ", dtype_name(bias->dtype()),
              dims_str(bias->dims()));
  const Tensor& y_zp = ctx.input(7);
  ctx.check(y_zp.numel() == 1, "y_zero_point must hold a single value");
  Tensor y(y_zp.dtype(), geo.out_dims());
  int64_t out_sp = shape_numel(geo.out);
  visit_quant(ctx, y_zp.dtype(), "y_zero_point", [&](auto qtag) {
    using Q = decltype(qtag);
    Q* py = y.mutable_data<Q>();
    for (size_t i = 0; i < acc.size(); ++i) {
      int64_t m = int64_t(i) / out_sp % geo.out_ch;
      double ws = w_scale.as_double(w_scale.numel() == 1 ? 0 : m);
      double v = double(acc[i] + (bias ? bias->as_int(m) : 0)) * x_scale * ws;
      py[i] = saturate_round<Q>(std::nearbyint(v / y_scale) + y_zp.as_double(0));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_quantized_kernels(KernelRegistry& r) {
  r.add(OpKind::QuantizeLinear, quantize_linear_k);
  r.add(OpKind::DequantizeLinear, dequantize_linear_k);
  r.add(OpKind::DynamicQuantizeLinear, dynamic_quantize_linear_k);
  r.add(OpKind::MatMulInteger, matmul_integer_k);
  r.add(OpKind::QLinearMatMul, qlinear_matmul_k);
  r.add(OpKind::ConvInteger, conv_integer_k);
  r.add(OpKind::QLinearConv, qlinear_conv_k);
}

}  // namespace eave::ref
