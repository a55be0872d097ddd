// Reference kernels: element-wise ops. Unary math and activations, binary arithmetic,
// comparisons and logic with NumPy broadcasting, variadic Sum/Mean/Max/Min, Where, Clip, Cast.
// 16-bit floats compute in float; f64 in double.
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- helpers

// Applies f elementwise to a float tensor, computing in compute_t<T> (float or double).
template <class F>
void unary_float(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* a = x.data<T>();
    T* b = y.mutable_data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) b[i] = narrow<T>(f(widen(a[i])));
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Applies f to any numeric tensor (ints and floats), same type out.
template <class F>
void unary_numeric(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  Tensor y(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      const T* a = x.data<T>();
      T* b = y.mutable_data<T>();
      for (int64_t i = 0; i < x.numel(); ++i) b[i] = narrow<T>(f(widen(a[i])));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Broadcasts a and b to out dims and calls f(i, offset_a, offset_b).
template <class F>
std::vector<int64_t> broadcast2(const KernelContext& ctx, const Tensor& a, const Tensor& b, F f) {
  std::vector<int64_t> out = broadcast_shapes(ctx, {a.dims(), b.dims()});
  std::vector<std::vector<int64_t>> strides = {broadcast_strides(a.dims(), out),
                                               broadcast_strides(b.dims(), out)};
  for_each_broadcast(out, strides, [&](int64_t i, const std::vector<int64_t>& off) {
    f(i, off[0], off[1]);
  });
  return out;
}

std::vector<int64_t> broadcast_dims(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  return broadcast_shapes(ctx, {a.dims(), b.dims()});
}

// Binary op with both inputs and the output of the same type; f computes in compute_t<T>.
// `allow` filters the element types the op accepts.
template <class Allow, class F>
void binary_same(KernelContext& ctx, Allow allow, F f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ctx.check(a.dtype() == b.dtype(), "inputs have different element types ",
            dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  Tensor y(a.dtype(), broadcast_dims(ctx, a, b));
  visit_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!allow(T{})) {
      ctx.fail("element type ", dtype_name(a.dtype()), " is not supported");
    } else {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* py = y.mutable_data<T>();
      broadcast2(ctx, a, b, [&](int64_t i, int64_t oa, int64_t ob) {
        py[i] = narrow<T>(f(widen(pa[oa]), widen(pb[ob])));
      });
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Comparison: same-typed inputs, bool output.
template <class F>
void compare(KernelContext& ctx, F f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ctx.check(a.dtype() == b.dtype(), "inputs have different element types ",
            dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  Tensor y(DType::Bool, broadcast_dims(ctx, a, b));
  bool* py = y.mutable_data<bool>();
  if (a.dtype() == DType::String) {
    broadcast2(ctx, a, b, [&](int64_t i, int64_t oa, int64_t ob) {
      py[i] = f(a.strings()[size_t(oa)], b.strings()[size_t(ob)]);
    });
  } else {
    visit_dtype(a.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      broadcast2(ctx, a, b, [&](int64_t i, int64_t oa, int64_t ob) {
        py[i] = f(widen(pa[oa]), widen(pb[ob]));
      });
      return 0;
    });
  }
  ctx.set_output(0, std::move(y));
}

constexpr auto any_numeric = [](auto t) { return !std::is_same_v<decltype(t), bool>; };
constexpr auto only_bool = [](auto t) { return std::is_same_v<decltype(t), bool>; };
constexpr auto only_int = [](auto t) {
  using T = decltype(t);
  return std::is_integral_v<T> && !std::is_same_v<T, bool>;
};

template <class T>
T int_floor_mod(T a, T b) {
  if (b == 0) return 0;
  T r = a % b;
  if constexpr (std::is_signed_v<T>)
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

template <class T>
T int_div(T a, T b) {
  // Division by zero is undefined in ONNX; return 0 rather than trap.
  if (b == 0) return 0;
  if constexpr (std::is_signed_v<T>)
    if (a == std::numeric_limits<T>::min() && b == T(-1)) return a;
  return a / b;
}

// ---------------------------------------------------------------- unary math

#define EAVE_UNARY_FLOAT(Name, expr)              \
  void Name(KernelContext& ctx) {                 \
    unary_float(ctx, [](auto x) { return expr; }); \
  }

EAVE_UNARY_FLOAT(exp_k, std::exp(x))
EAVE_UNARY_FLOAT(log_k, std::log(x))
EAVE_UNARY_FLOAT(sqrt_k, std::sqrt(x))
EAVE_UNARY_FLOAT(sin_k, std::sin(x))
EAVE_UNARY_FLOAT(cos_k, std::cos(x))
EAVE_UNARY_FLOAT(tan_k, std::tan(x))
EAVE_UNARY_FLOAT(asin_k, std::asin(x))
EAVE_UNARY_FLOAT(acos_k, std::acos(x))
EAVE_UNARY_FLOAT(atan_k, std::atan(x))
EAVE_UNARY_FLOAT(sinh_k, std::sinh(x))
EAVE_UNARY_FLOAT(cosh_k, std::cosh(x))
EAVE_UNARY_FLOAT(asinh_k, std::asinh(x))
EAVE_UNARY_FLOAT(acosh_k, std::acosh(x))
EAVE_UNARY_FLOAT(atanh_k, std::atanh(x))
EAVE_UNARY_FLOAT(tanh_k, std::tanh(x))
EAVE_UNARY_FLOAT(erf_k, std::erf(x))
EAVE_UNARY_FLOAT(floor_k, std::floor(x))
EAVE_UNARY_FLOAT(ceil_k, std::ceil(x))
EAVE_UNARY_FLOAT(round_k, std::nearbyint(x))  // round half to even under the default mode
EAVE_UNARY_FLOAT(reciprocal_k, decltype(x)(1) / x)
EAVE_UNARY_FLOAT(sigmoid_k, decltype(x)(1) / (decltype(x)(1) + std::exp(-x)))
// log(1 + e^x) = x + log(1 + e^-x): the second form for large x, where e^x overflows.
EAVE_UNARY_FLOAT(softplus_k, x > 30 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
EAVE_UNARY_FLOAT(softsign_k, x / (decltype(x)(1) + std::abs(x)))
EAVE_UNARY_FLOAT(mish_k, x * std::tanh(std::log1p(std::exp(x))))
EAVE_UNARY_FLOAT(hardswish_k, x * std::max(decltype(x)(0), std::min(decltype(x)(1), x / 6 + decltype(x)(0.5))))
#undef EAVE_UNARY_FLOAT

void abs_k(KernelContext& ctx) {
  unary_numeric(ctx, [](auto x) {
    if constexpr (std::is_unsigned_v<decltype(x)>) return x;
    else return x < 0 ? wrapping_neg(x) : x;
  });
}

void neg_k(KernelContext& ctx) { unary_numeric(ctx, [](auto x) { return wrapping_neg(x); }); }

void sign_k(KernelContext& ctx) {
  unary_numeric(ctx, [](auto x) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>)
      if (std::isnan(x)) return x;
    return C(x > C(0) ? 1 : (x < C(0) ? -1 : 0));
  });
}

void relu_k(KernelContext& ctx) {
  unary_numeric(ctx, [](auto x) { return x > decltype(x)(0) ? x : decltype(x)(0); });
}

void leaky_relu_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 0.01f);
  unary_float(ctx, [alpha](auto x) { return x >= 0 ? x : decltype(x)(alpha) * x; });
}

void elu_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 1.0f);
  unary_float(ctx, [alpha](auto x) { return x >= 0 ? x : decltype(x)(alpha) * std::expm1(x); });
}

void celu_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 1.0f);
  unary_float(ctx, [alpha](auto x) {
    using C = decltype(x);
    return std::max(C(0), x) + std::min(C(0), C(alpha) * std::expm1(x / C(alpha)));
  });
}

void selu_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 1.67326319217681884765625f);
  double gamma = ctx.node().attr_float("gamma", 1.05070102214813232421875f);
  unary_float(ctx, [=](auto x) {
    using C = decltype(x);
    return C(gamma) * (x > 0 ? x : C(alpha) * std::expm1(x));
  });
}

void hard_sigmoid_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 0.2f);
  double beta = ctx.node().attr_float("beta", 0.5f);
  unary_float(ctx, [=](auto x) {
    using C = decltype(x);
    return std::max(C(0), std::min(C(1), C(alpha) * x + C(beta)));
  });
}

void thresholded_relu_k(KernelContext& ctx) {
  double alpha = ctx.node().attr_float("alpha", 1.0f);
  unary_float(ctx, [alpha](auto x) { return x > decltype(x)(alpha) ? x : decltype(x)(0); });
}

void shrink_k(KernelContext& ctx) {
  double bias = ctx.node().attr_float("bias", 0.0f);
  double lambd = ctx.node().attr_float("lambd", 0.5f);
  unary_numeric(ctx, [=](auto x) {
    using C = decltype(x);
    double v = double(x);
    if (v < -lambd) return C(v + bias);
    if (v > lambd) return C(v - bias);
    return C(0);
  });
}

void gelu_k(KernelContext& ctx) {
  bool tanh_approx = ctx.node().attr_string("approximate", "none") == "tanh";
  unary_float(ctx, [tanh_approx](auto x) {
    using C = decltype(x);
    if (tanh_approx)
      return C(0.5) * x *
             (C(1) + std::tanh(C(std::sqrt(2.0 / M_PI)) * (x + C(0.044715) * x * x * x)));
    return C(0.5) * x * (C(1) + std::erf(x / C(std::sqrt(2.0))));
  });
}

void is_nan_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor y(DType::Bool, x.dims());
  bool* py = y.mutable_data<bool>();
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* a = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) py[i] = std::isnan(widen(a[i]));
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void is_inf_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  bool pos = ctx.node().attr_int("detect_positive", 1) != 0;
  bool neg = ctx.node().attr_int("detect_negative", 1) != 0;
  Tensor y(DType::Bool, x.dims());
  bool* py = y.mutable_data<bool>();
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* a = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto v = widen(a[i]);
      py[i] = std::isinf(v) && ((v > 0 && pos) || (v < 0 && neg));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void not_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.dtype() == DType::Bool, "input must be bool, got ", dtype_name(x.dtype()));
  Tensor y(DType::Bool, x.dims());
  for (int64_t i = 0; i < x.numel(); ++i) y.mutable_data<bool>()[i] = !x.data<bool>()[i];
  ctx.set_output(0, std::move(y));
}

void bitwise_not_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor y(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (!only_int(T{})) {
      ctx.fail("element type ", dtype_name(x.dtype()), " is not supported");
    } else {
      for (int64_t i = 0; i < x.numel(); ++i) y.mutable_data<T>()[i] = T(~x.data<T>()[i]);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- binary

// Integers wrap (wrapping_add in util.h); floats as usual.
void add_k(KernelContext& ctx) {
  binary_same(ctx, any_numeric, [](auto a, auto b) { return wrapping_add(a, b); });
}
void sub_k(KernelContext& ctx) {
  binary_same(ctx, any_numeric, [](auto a, auto b) { return wrapping_add(a, wrapping_neg(b)); });
}
void mul_k(KernelContext& ctx) {
  binary_same(ctx, any_numeric, [](auto a, auto b) { return wrapping_mul(a, b); });
}

void div_k(KernelContext& ctx) {
  binary_same(ctx, any_numeric, [](auto a, auto b) {
    if constexpr (std::is_integral_v<decltype(a)>) return int_div(a, b);
    else return a / b;
  });
}

void mod_k(KernelContext& ctx) {
  bool fmod = ctx.node().attr_int("fmod", 0) != 0;
  const Tensor& a = ctx.input(0);
  ctx.check(fmod || !is_float(a.dtype()), "fmod must be 1 for floating-point inputs");
  binary_same(ctx, any_numeric, [fmod](auto x, auto y) {
    using C = decltype(x);
    if constexpr (std::is_floating_point_v<C>) {
      return C(std::fmod(x, y));
    } else {
      if (fmod) return y == 0 ? C(0) : C(x % y);
      return int_floor_mod(x, y);
    }
  });
}

void pow_k(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Tensor y(a.dtype(), broadcast_dims(ctx, a, b));
  visit_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool base is not supported");
    } else {
      const T* pa = a.data<T>();
      T* py = y.mutable_data<T>();
      broadcast2(ctx, a, b, [&](int64_t i, int64_t oa, int64_t ob) {
        double r = std::pow(double(widen(pa[oa])), b.as_double(ob));
        if constexpr (std::is_integral_v<T>) py[i] = T(int64_t(r));
        else py[i] = T(compute_t<T>(r));
      });
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void bit_shift_k(KernelContext& ctx) {
  bool left = ctx.node().attr_string("direction") == "LEFT";
  binary_same(ctx, only_int, [left](auto a, auto b) {
    using C = decltype(a);
    constexpr int bits = sizeof(C) * 8;
    if (b >= C(bits)) return C(0);
    return left ? C(a << b) : C(a >> b);
  });
}

void and_k(KernelContext& ctx) { binary_same(ctx, only_bool, [](bool a, bool b) { return a && b; }); }
void or_k(KernelContext& ctx) { binary_same(ctx, only_bool, [](bool a, bool b) { return a || b; }); }
void xor_k(KernelContext& ctx) { binary_same(ctx, only_bool, [](bool a, bool b) { return a != b; }); }
void bitwise_and_k(KernelContext& ctx) { binary_same(ctx, only_int, [](auto a, auto b) { return decltype(a)(a & b); }); }
void bitwise_or_k(KernelContext& ctx) { binary_same(ctx, only_int, [](auto a, auto b) { return decltype(a)(a | b); }); }
void bitwise_xor_k(KernelContext& ctx) { binary_same(ctx, only_int, [](auto a, auto b) { return decltype(a)(a ^ b); }); }

void equal_k(KernelContext& ctx) { compare(ctx, [](const auto& a, const auto& b) { return a == b; }); }
void less_k(KernelContext& ctx) { compare(ctx, [](const auto& a, const auto& b) { return a < b; }); }
void greater_k(KernelContext& ctx) { compare(ctx, [](const auto& a, const auto& b) { return a > b; }); }
void less_equal_k(KernelContext& ctx) { compare(ctx, [](const auto& a, const auto& b) { return a <= b; }); }
void greater_equal_k(KernelContext& ctx) { compare(ctx, [](const auto& a, const auto& b) { return a >= b; }); }

void prelu_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& slope = ctx.input(1);
  // Opset < 7 allowed a 1-D slope over channels; treat it as broadcasting over dim 1.
  Tensor s = slope;
  if (slope.rank() == 1 && x.rank() > 2 && slope.dim(0) == x.dim(1) && slope.dim(0) != x.dims().back()) {
    std::vector<int64_t> d(x.rank() - 1, 1);
    d[0] = slope.dim(0);
    s = slope.reshaped(d);
  }
  Tensor y(x.dtype(), broadcast_dims(ctx, x, s));
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool is not supported");
    } else {
      const T* px = x.data<T>();
      const T* ps = s.data<T>();
      T* py = y.mutable_data<T>();
      broadcast2(ctx, x, s, [&](int64_t i, int64_t ox, int64_t os) {
        auto v = widen(px[ox]);
        py[i] = narrow<T>(v < 0 ? v * widen(ps[os]) : v);
      });
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- variadic

template <class F, class Finish>
void variadic(KernelContext& ctx, F f, Finish finish) {
  ctx.check(ctx.num_inputs() >= 1, "needs at least one input");
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) shapes.push_back(ctx.input(i).dims());
  std::vector<int64_t> out = broadcast_shapes(ctx, shapes);
  DType dt = ctx.input(0).dtype();
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    ctx.check(ctx.input(i).dtype() == dt, "inputs have different element types");
  Tensor y(dt, out);
  visit_dtype(dt, [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool is not supported");
    } else {
      std::vector<compute_t<T>> acc(size_t(y.numel()));
      for (size_t k = 0; k < ctx.num_inputs(); ++k) {
        const Tensor& in = ctx.input(k);
        const T* p = in.data<T>();
        std::vector<std::vector<int64_t>> strides = {broadcast_strides(in.dims(), out)};
        for_each_broadcast(out, strides, [&](int64_t i, const std::vector<int64_t>& off) {
          auto v = widen(p[off[0]]);
          acc[size_t(i)] = k == 0 ? v : f(acc[size_t(i)], v);
        });
      }
      T* py = y.mutable_data<T>();
      for (int64_t i = 0; i < y.numel(); ++i)
        py[i] = narrow<T>(finish(acc[size_t(i)], ctx.num_inputs()));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

constexpr auto no_finish = [](auto v, size_t) { return v; };

template <class C>
C nan_max(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  return a < b ? b : a;
}

template <class C>
C nan_min(C a, C b) {
  if constexpr (std::is_floating_point_v<C>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<C>::quiet_NaN();
  return b < a ? b : a;
}

void sum_k(KernelContext& ctx) {
  variadic(ctx, [](auto a, auto b) { return wrapping_add(a, b); }, no_finish);
}
void max_k(KernelContext& ctx) { variadic(ctx, [](auto a, auto b) { return nan_max(a, b); }, no_finish); }
void min_k(KernelContext& ctx) { variadic(ctx, [](auto a, auto b) { return nan_min(a, b); }, no_finish); }
void mean_k(KernelContext& ctx) {
  variadic(ctx, [](auto a, auto b) { return wrapping_add(a, b); },
           [](auto v, size_t n) { return decltype(v)(v / decltype(v)(n)); });
}

// ---------------------------------------------------------------- select, clip, cast

void where_k(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& a = ctx.input(1);
  const Tensor& b = ctx.input(2);
  ctx.check(c.dtype() == DType::Bool, "condition must be bool, got ", dtype_name(c.dtype()));
  ctx.check(a.dtype() == b.dtype(), "X and Y have different element types");
  std::vector<int64_t> out = broadcast_shapes(ctx, {c.dims(), a.dims(), b.dims()});
  Tensor y(a.dtype(), out);
  std::vector<std::vector<int64_t>> strides = {broadcast_strides(c.dims(), out),
                                               broadcast_strides(a.dims(), out),
                                               broadcast_strides(b.dims(), out)};
  const bool* pc = c.data<bool>();
  if (a.dtype() == DType::String) {
    for_each_broadcast(out, strides, [&](int64_t i, const std::vector<int64_t>& o) {
      y.mutable_strings()[size_t(i)] = pc[o[0]] ? a.strings()[size_t(o[1])] : b.strings()[size_t(o[2])];
    });
  } else {
    size_t es = dtype_size(a.dtype());
    auto* py = static_cast<uint8_t*>(y.mutable_raw());
    auto* pa = static_cast<const uint8_t*>(a.raw());
    auto* pb = static_cast<const uint8_t*>(b.raw());
    for_each_broadcast(out, strides, [&](int64_t i, const std::vector<int64_t>& o) {
      std::memcpy(py + size_t(i) * es, pc[o[0]] ? pa + size_t(o[1]) * es : pb + size_t(o[2]) * es, es);
    });
  }
  ctx.set_output(0, std::move(y));
}

void clip_k(KernelContext& ctx) {
  double lo, hi;
  if (ctx.opset() < 11) {
    lo = ctx.node().attr_float("min", -std::numeric_limits<float>::max());
    hi = ctx.node().attr_float("max", std::numeric_limits<float>::max());
  } else {
    lo = scalar_input(ctx, 1, -std::numeric_limits<double>::infinity());
    hi = scalar_input(ctx, 2, std::numeric_limits<double>::infinity());
  }
  unary_numeric(ctx, [=](auto v) {
    using C = decltype(v);
    double d = double(v);
    if (d != d) return v;  // NaN passes through
    if (d < lo) return C(lo);
    if (d > hi) return C(hi);
    return v;
  });
}

void cast_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t to = ctx.node().attr_int("to");
  DType dt = dtype_from_onnx(int32_t(to));
  ctx.check(dt != DType::Undefined, "cast to element type code ", to, " is not supported");
  ctx.set_output(0, x.cast(dt));
}

void cast_like_k(KernelContext& ctx) { ctx.set_output(0, ctx.input(0).cast(ctx.input(1).dtype())); }

}  // namespace

void register_elementwise_kernels(KernelRegistry& r) {
  r.add(OpKind::Abs, abs_k);
  r.add(OpKind::Neg, neg_k);
  r.add(OpKind::Sign, sign_k);
  r.add(OpKind::Exp, exp_k);
  r.add(OpKind::Log, log_k);
  r.add(OpKind::Sqrt, sqrt_k);
  r.add(OpKind::Sin, sin_k);
  r.add(OpKind::Cos, cos_k);
  r.add(OpKind::Tan, tan_k);
  r.add(OpKind::Asin, asin_k);
  r.add(OpKind::Acos, acos_k);
  r.add(OpKind::Atan, atan_k);
  r.add(OpKind::Sinh, sinh_k);
  r.add(OpKind::Cosh, cosh_k);
  r.add(OpKind::Asinh, asinh_k);
  r.add(OpKind::Acosh, acosh_k);
  r.add(OpKind::Atanh, atanh_k);
  r.add(OpKind::Tanh, tanh_k);
  r.add(OpKind::Erf, erf_k);
  r.add(OpKind::Floor, floor_k);
  r.add(OpKind::Ceil, ceil_k);
  r.add(OpKind::Round, round_k);
  r.add(OpKind::Reciprocal, reciprocal_k);
  r.add(OpKind::Sigmoid, sigmoid_k);
  r.add(OpKind::Softplus, softplus_k);
  r.add(OpKind::Softsign, softsign_k);
  r.add(OpKind::Mish, mish_k);
  r.add(OpKind::HardSwish, hardswish_k);
  r.add(OpKind::Relu, relu_k);
  r.add(OpKind::LeakyRelu, leaky_relu_k);
  r.add(OpKind::Elu, elu_k);
  r.add(OpKind::Celu, celu_k);
  r.add(OpKind::Selu, selu_k);
  r.add(OpKind::HardSigmoid, hard_sigmoid_k);
  r.add(OpKind::ThresholdedRelu, thresholded_relu_k);
  r.add(OpKind::Shrink, shrink_k);
  r.add(OpKind::Gelu, gelu_k);
  r.add(OpKind::IsNaN, is_nan_k);
  r.add(OpKind::IsInf, is_inf_k);
  r.add(OpKind::Not, not_k);
  r.add(OpKind::BitwiseNot, bitwise_not_k);
  r.add(OpKind::Add, add_k);
  r.add(OpKind::Sub, sub_k);
  r.add(OpKind::Mul, mul_k);
  r.add(OpKind::Div, div_k);
  r.add(OpKind::Mod, mod_k);
  r.add(OpKind::Pow, pow_k);
  r.add(OpKind::BitShift, bit_shift_k);
  r.add(OpKind::And, and_k);
  r.add(OpKind::Or, or_k);
  r.add(OpKind::Xor, xor_k);
  r.add(OpKind::BitwiseAnd, bitwise_and_k);
  r.add(OpKind::BitwiseOr, bitwise_or_k);
  r.add(OpKind::BitwiseXor, bitwise_xor_k);
  r.add(OpKind::Equal, equal_k);
  r.add(OpKind::Less, less_k);
  r.add(OpKind::Greater, greater_k);
  r.add(OpKind::LessOrEqual, less_equal_k);
  r.add(OpKind::GreaterOrEqual, greater_equal_k);
  r.add(OpKind::PRelu, prelu_k);
  r.add(OpKind::Sum, sum_k);
  r.add(OpKind::Max, max_k);
  r.add(OpKind::Min, min_k);
  r.add(OpKind::Mean, mean_k);
  r.add(OpKind::Where, where_k);
  r.add(OpKind::Clip, clip_k);
  r.add(OpKind::Cast, cast_k);
  r.add(OpKind::CastLike, cast_like_k);
}

}  // namespace eave::ref
