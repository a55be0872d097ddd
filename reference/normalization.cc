// Reference kernels: normalization. BatchNormalization, InstanceNormalization,
// LayerNormalization, GroupNormalization, LpNormalization, MeanVarianceNormalization and LRN;
// Softmax, LogSoftmax and Hardmax. Inputs are float types; 16-bit floats compute in float, f64
// in double. Variances are population variances (divided by the count, not count - 1).
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- helpers

// Per-group mean and population variance, computed in S.
template <class S>
struct GroupStats {
  std::vector<S> mean;
  std::vector<S> var;
};

// Statistics of each group of `ro` over the elements of x. Two passes (mean, then squared
// deviations) rather than E[x^2] - E[x]^2, which cancels badly.
template <class S, class T>
GroupStats<S> group_stats(const T* x, const ReduceOffsets& ro) {
  GroupStats<S> st{std::vector<S>(ro.outer.size()), std::vector<S>(ro.outer.size())};
  S count = S(ro.inner.size());
  for (size_t g = 0; g < ro.outer.size(); ++g) {
    S sum = 0;
    for (int64_t k : ro.inner) sum += S(widen(x[ro.outer[g] + k]));
    S mean = sum / count;
    S sq = 0;
    for (int64_t k : ro.inner) {
      S d = S(widen(x[ro.outer[g] + k])) - mean;
      sq += d * d;
    }
    st.mean[g] = mean;
    st.var[g] = sq / count;
  }
  return st;
}

// All elements of a float (or any numeric) tensor as C, for per-channel parameters whose type
// may differ from X's (BatchNormalization-15 allows that).
template <class C>
std::vector<C> values_as(const Tensor& t) {
  std::vector<C> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = C(t.as_double(i));
  return v;
}

// A tensor of `dtype` holding `values` (converted from compute type C).
template <class C>
Tensor tensor_of(DType dtype, std::vector<int64_t> dims, const std::vector<C>& values) {
  std::vector<double> d(values.begin(), values.end());
  return Tensor::from_vector<double>(std::move(dims), d).cast(dtype);
}

void check_param(const KernelContext& ctx, const Tensor& p, const char* name, int64_t want) {
  ctx.check(p.numel() == want, name, " must have ", want, " elements, got shape ",
            dims_str(p.dims()));
}

// The mask of every axis but `keep`.
std::vector<bool> all_axes_but(size_t rank, size_t keep) {
  std::vector<bool> mask(rank, true);
  mask[keep] = false;
  return mask;
}

// The mask of axes [from, rank).
std::vector<bool> axes_from(size_t rank, size_t from) {
  std::vector<bool> mask(rank, false);
  for (size_t d = from; d < rank; ++d) mask[d] = true;
  return mask;
}

// ---------------------------------------------------------------- BatchNormalization

// Y = (X - mean) / sqrt(var + epsilon) * scale + B over channel axis 1. Inference uses the given
// running statistics; training (training_mode since opset 14; before that, asking for any output
// beyond Y) uses the batch's own statistics and also outputs the updated running statistics
// running * momentum + batch * (1 - momentum). Before opset 9, spatial=0 gives every (C, D1, ...)
// position its own parameters instead of every channel.
void batch_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  const Tensor& in_mean = ctx.input(3);
  const Tensor& in_var = ctx.input(4);
  ctx.check(x.rank() >= 2, "X must have rank >= 2 (N x C x ...), got shape ", dims_str(x.dims()));
  double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  double momentum = ctx.node().attr_float("momentum", 0.9f);
  bool spatial = ctx.opset() >= 9 || ctx.node().attr_int("spatial", 1) != 0;
  bool training = ctx.opset() >= 14 ? ctx.node().attr_int("training_mode", 0) != 0
                                    : ctx.num_outputs() > 1 &&
                                          (ctx.wants_output(1) || ctx.wants_output(2) ||
                                           ctx.wants_output(3) || ctx.wants_output(4));

  // Per channel: group over every axis but 1. Per activation: group over N only.
  std::vector<bool> mask(x.rank(), false);
  if (spatial) mask = all_axes_but(x.rank(), 1);
  else mask[0] = true;
  ReduceOffsets ro = reduce_offsets(x.dims(), mask);
  int64_t groups = int64_t(ro.outer.size());
  std::vector<int64_t> param_dims =
      spatial ? std::vector<int64_t>{x.dim(1)}
              : std::vector<int64_t>(x.dims().begin() + 1, x.dims().end());
  check_param(ctx, scale, "scale (input 1)", groups);
  check_param(ctx, bias, "B (input 2)", groups);
  check_param(ctx, in_mean, "input_mean (input 3)", groups);
  check_param(ctx, in_var, "input_var (input 4)", groups);

  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<C> s = values_as<C>(scale), b = values_as<C>(bias);
    std::vector<C> mean = values_as<C>(in_mean), var = values_as<C>(in_var);
    if (training) {
      GroupStats<C> st = group_stats<C>(px, ro);
      std::vector<C> run_mean(mean.size()), run_var(var.size());
      for (size_t g = 0; g < size_t(groups); ++g) {
        run_mean[g] = mean[g] * C(momentum) + st.mean[g] * C(1 - momentum);
        run_var[g] = var[g] * C(momentum) + st.var[g] * C(1 - momentum);
      }
      // Opset 14 on: Y, running_mean, running_var. Before: Y, mean, var, saved_mean, saved_var.
      auto set = [&](size_t i, const Tensor& like, const std::vector<C>& v) {
        if (i < ctx.num_outputs()) ctx.set_output(i, tensor_of(like.dtype(), param_dims, v));
      };
      set(1, in_mean, run_mean);
      set(2, in_var, run_var);
      set(3, in_mean, st.mean);
      set(4, in_var, st.var);
      mean = st.mean;
      var = st.var;
    } else {
      // Not training: the running statistics pass through unchanged.
      for (size_t i = 1; i < std::min<size_t>(ctx.num_outputs(), 3); ++i)
        ctx.set_output(i, (i == 1 ? in_mean : in_var).clone());
    }
    for (size_t g = 0; g < size_t(groups); ++g) {
      C inv_std = C(1) / std::sqrt(var[g] + C(epsilon));
      for (int64_t k : ro.inner) {
        int64_t off = ro.outer[g] + k;
        py[off] = narrow<T>((widen(px[off]) - mean[g]) * inv_std * s[g] + b[g]);
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- InstanceNormalization

// Normalizes each (n, c) slice over the spatial axes, then applies per-channel scale and B.
void instance_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  ctx.check(x.rank() >= 2, "input must have rank >= 2 (N x C x ...), got shape ",
            dims_str(x.dims()));
  double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  int64_t channels = x.dim(1);
  check_param(ctx, scale, "scale (input 1)", channels);
  check_param(ctx, bias, "B (input 2)", channels);
  ReduceOffsets ro = reduce_offsets(x.dims(), axes_from(x.rank(), 2));
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<C> s = values_as<C>(scale), b = values_as<C>(bias);
    GroupStats<C> st = group_stats<C>(px, ro);
    for (size_t g = 0; g < ro.outer.size(); ++g) {
      size_t c = g % size_t(channels);  // groups run over (n, c) in row-major order
      C inv_std = C(1) / std::sqrt(st.var[g] + C(epsilon));
      for (int64_t k : ro.inner) {
        int64_t off = ro.outer[g] + k;
        py[off] = narrow<T>((widen(px[off]) - st.mean[g]) * inv_std * s[c] + b[c]);
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- LayerNormalization

// Calls f(S{}) with S the type that stash_type (an ONNX element type code) names.
template <class F>
decltype(auto) visit_stash(const KernelContext& ctx, int64_t stash_type, F&& f) {
  DType dt = dtype_from_onnx(int32_t(stash_type));
  ctx.check(is_float(dt), "stash_type ", stash_type, " is not a float element type");
  return visit_float(ctx, dt, f);
}

// Normalizes over axes [axis, rank): statistics (the optional outputs Mean and InvStdDev, shaped
// like X with the normalized axes set to 1) are computed in stash_type; the normalized values
// are then scaled and shifted in X's type, Scale and B broadcasting to X's shape.
void layer_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  int64_t rank = int64_t(x.rank());
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), rank);
  double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  int64_t stash_type = ctx.node().attr_int("stash_type", 1);
  for (const Tensor* p : {&scale, bias}) {
    if (!p) continue;
    ctx.check(p->dtype() == x.dtype(), "Scale and B must have X's element type ",
              dtype_name(x.dtype()), ", got ", dtype_name(p->dtype()));
    ctx.check(broadcast_shapes(ctx, {p->dims(), x.dims()}) == x.dims(), "Scale and B must ",
              "broadcast to X's shape ", dims_str(x.dims()), ", got ", dims_str(p->dims()));
  }
  ReduceOffsets ro = reduce_offsets(x.dims(), axes_from(x.rank(), size_t(axis)));
  std::vector<int64_t> stat_dims = x.dims();
  for (int64_t d = axis; d < rank; ++d) stat_dims[size_t(d)] = 1;

  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    visit_stash(ctx, stash_type, [&](auto st_t) {
      using S = compute_t<decltype(st_t)>;
      DType stash_dtype = DTypeOf<decltype(st_t)>::value;
      GroupStats<S> st = group_stats<S>(px, ro);
      std::vector<S> inv_std(st.var.size());
      for (size_t g = 0; g < inv_std.size(); ++g)
        inv_std[g] = S(1) / std::sqrt(st.var[g] + S(epsilon));
      // Normalized X, stored as X's type as the ONNX function definition casts it.
      for (size_t g = 0; g < ro.outer.size(); ++g)
        for (int64_t k : ro.inner) {
          int64_t off = ro.outer[g] + k;
          py[off] = narrow<T>(compute_t<T>((S(widen(px[off])) - st.mean[g]) * inv_std[g]));
        }
      if (ctx.wants_output(1)) ctx.set_output(1, tensor_of(stash_dtype, stat_dims, st.mean));
      if (ctx.wants_output(2)) ctx.set_output(2, tensor_of(stash_dtype, stat_dims, inv_std));
      return 0;
    });
    const T* ps = scale.data<T>();
    const T* pb = bias ? bias->data<T>() : nullptr;
    std::vector<std::vector<int64_t>> strides = {
        broadcast_strides(scale.dims(), x.dims()),
        broadcast_strides(bias ? bias->dims() : scale.dims(), x.dims())};
    for_each_broadcast(x.dims(), strides, [&](int64_t i, const std::vector<int64_t>& off) {
      compute_t<T> v = widen(py[i]) * widen(ps[off[0]]);
      if (pb) v += widen(pb[off[1]]);
      py[i] = narrow<T>(v);
    });
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- GroupNormalization

// Splits the C channels into num_groups groups of consecutive channels and normalizes each
// (n, group) over its channels and spatial axes, then applies scale and bias: per group in
// opset 18, per channel since opset 21 (which also adds stash_type, the statistics' type;
// opset 18 computes them in X's compute type).
void group_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& scale = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  ctx.check(x.rank() >= 2, "X must have rank >= 2 (N x C x ...), got shape ", dims_str(x.dims()));
  double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  int64_t num_groups = ctx.node().attr_int("num_groups");
  int64_t n = x.dim(0), channels = x.dim(1);
  ctx.check(num_groups > 0 && channels % num_groups == 0, "num_groups ", num_groups,
            " must be positive and divide the channel count ", channels);
  bool per_channel = ctx.opset() >= 21;
  int64_t params = per_channel ? channels : num_groups;
  check_param(ctx, scale, "scale (input 1)", params);
  check_param(ctx, bias, "bias (input 2)", params);
  int64_t channels_per_group = channels / num_groups;
  int64_t spatial = shape_numel(std::span(x.dims()).subspan(2));
  // Row g of X viewed as [N * num_groups, channels_per_group * spatial] is one group.
  std::vector<int64_t> grouped = {n * num_groups, channels_per_group * spatial};
  ReduceOffsets ro = reduce_offsets(grouped, {false, true});
  int64_t stash_type =
      ctx.opset() >= 21 ? ctx.node().attr_int("stash_type", 1) : dtype_to_onnx(x.dtype());

  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<C> s = values_as<C>(scale), b = values_as<C>(bias);
    visit_stash(ctx, stash_type, [&](auto st_t) {
      using S = compute_t<decltype(st_t)>;
      GroupStats<S> st = group_stats<S>(px, ro);
      for (size_t g = 0; g < ro.outer.size(); ++g) {
        S inv_std = S(1) / std::sqrt(st.var[g] + S(epsilon));
        int64_t group = int64_t(g) % num_groups;
        for (int64_t k : ro.inner) {
          int64_t off = ro.outer[g] + k;
          size_t p = size_t(per_channel ? group * channels_per_group + k / spatial : group);
          C normalized = C((S(widen(px[off])) - st.mean[g]) * inv_std);
          py[off] = narrow<T>(normalized * s[p] + b[p]);
        }
      }
      return 0;
    });
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- LpNormalization

// Divides by the L1 or L2 norm along `axis`. A zero norm (an all-zero vector) gives zeros rather
// than 0/0.
void lp_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), rank);
  int64_t p = ctx.node().attr_int("p", 2);
  ctx.check(p == 1 || p == 2, "p must be 1 or 2, got ", p);
  std::vector<bool> mask(size_t(rank), false);
  mask[size_t(axis)] = true;
  ReduceOffsets ro = reduce_offsets(x.dims(), mask);
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t base : ro.outer) {
      C norm = 0;
      for (int64_t k : ro.inner) {
        C v = widen(px[base + k]);
        norm += p == 1 ? std::abs(v) : v * v;
      }
      if (p == 2) norm = std::sqrt(norm);
      for (int64_t k : ro.inner)
        py[base + k] = narrow<T>(norm == 0 ? C(0) : widen(px[base + k]) / norm);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- MeanVarianceNormalization

// (X - mean) / (sqrt(variance) + 1e-9) over `axes` (default N and the first two spatial axes);
// the 1e-9 is the epsilon of the op's ONNX function definition.
void mean_variance_norm_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = ctx.node().attr_ints("axes", std::vector<int64_t>{0, 2, 3});
  ReduceOffsets ro = reduce_offsets(x.dims(), axes_mask(ctx, axes, int64_t(x.rank())));
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    GroupStats<C> st = group_stats<C>(px, ro);
    for (size_t g = 0; g < ro.outer.size(); ++g) {
      C denom = std::sqrt(st.var[g]) + C(1e-9);
      for (int64_t k : ro.inner) {
        int64_t off = ro.outer[g] + k;
        py[off] = narrow<T>((widen(px[off]) - st.mean[g]) / denom);
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- LRN

// Local response normalization across channels: each element is divided by
// (bias + alpha / size * sum of squares over the channels c - floor((size-1)/2) ..
// c + ceil((size-1)/2) at the same position) ^ beta.
void lrn_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 2, "X must have rank >= 2 (N x C x ...), got shape ", dims_str(x.dims()));
  int64_t size = ctx.node().attr_int("size");
  ctx.check(size > 0, "size must be positive, got ", size);
  double alpha = ctx.node().attr_float("alpha", 1e-4f);
  double beta = ctx.node().attr_float("beta", 0.75f);
  double bias = ctx.node().attr_float("bias", 1.0f);
  int64_t channels = x.dim(1);
  int64_t spatial = shape_numel(std::span(x.dims()).subspan(2));
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t i = 0; i < spatial; ++i) {
          auto at = [&](int64_t ch) { return widen(px[(n * channels + ch) * spatial + i]); };
          C sq = 0;
          for (int64_t ch = std::max<int64_t>(0, c - before);
               ch <= std::min(channels - 1, c + after); ++ch)
            sq += at(ch) * at(ch);
          C denom = std::pow(C(bias) + C(alpha) / C(size) * sq, C(beta));
          py[(n * channels + c) * spatial + i] = narrow<T>(at(c) / denom);
        }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax

// The axes these ops normalize over. Before opset 13 the input is coerced to 2-D at `axis`
// (default 1), [d0 * .. * d(axis-1), d(axis) * .. * d(rank-1)], and each row is normalized:
// the axes [axis, rank). Since opset 13 only `axis` itself (default -1).
std::vector<bool> softmax_axes(const KernelContext& ctx, int64_t rank) {
  if (ctx.opset() < 13) {
    int64_t axis = ctx.node().attr_int("axis", 1);
    // axis == rank is allowed here: rows of one element.
    int64_t a = axis < 0 ? axis + rank : axis;
    ctx.check(a >= 0 && a <= rank, "axis ", axis, " is out of range for rank ", rank);
    return axes_from(size_t(rank), size_t(a));
  }
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", -1), rank);
  std::vector<bool> mask(size_t(rank), false);
  mask[size_t(axis)] = true;
  return mask;
}

// Applies f(values, out) to each group of elements softmax_axes selects; values are in the
// compute type, out receives the results in the same order.
template <class F>
void softmax_like(KernelContext& ctx, F f) {
  const Tensor& x = ctx.input(0);
  ReduceOffsets ro = reduce_offsets(x.dims(), softmax_axes(ctx, int64_t(x.rank())));
  Tensor y(x.dtype(), x.dims());
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<C> v(ro.inner.size()), out(ro.inner.size());
    for (int64_t base : ro.outer) {
      for (size_t k = 0; k < ro.inner.size(); ++k) v[k] = widen(px[base + ro.inner[k]]);
      f(v, out);
      for (size_t k = 0; k < ro.inner.size(); ++k) py[base + ro.inner[k]] = narrow<T>(out[k]);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// Largest value of a non-empty group; subtracted before exp so that it cannot overflow.
template <class C>
C max_of(const std::vector<C>& v) {
  C m = -std::numeric_limits<C>::infinity();
  for (C x : v) m = std::max(m, x);
  return m;
}

void softmax_k(KernelContext& ctx) {
  softmax_like(ctx, []<class C>(const std::vector<C>& v, std::vector<C>& out) {
    C m = max_of(v), sum = 0;
    for (size_t k = 0; k < v.size(); ++k) sum += out[k] = std::exp(v[k] - m);
    for (C& o : out) o /= sum;
  });
}

void log_softmax_k(KernelContext& ctx) {
  softmax_like(ctx, []<class C>(const std::vector<C>& v, std::vector<C>& out) {
    C m = max_of(v), sum = 0;
    for (C x : v) sum += std::exp(x - m);
    C log_sum = std::log(sum);
    for (size_t k = 0; k < v.size(); ++k) out[k] = v[k] - m - log_sum;
  });
}

// 1 at the first largest value of each group (NaN counts as largest, as in numpy's argmax), 0
// elsewhere.
void hardmax_k(KernelContext& ctx) {
  softmax_like(ctx, []<class C>(const std::vector<C>& v, std::vector<C>& out) {
    size_t best = 0;
    for (size_t k = 1; k < v.size(); ++k)
      if (!std::isnan(v[best]) && (std::isnan(v[k]) || v[best] < v[k])) best = k;
    std::fill(out.begin(), out.end(), C(0));
    if (!v.empty()) out[best] = 1;
  });
}

}  // namespace

void register_normalization_kernels(KernelRegistry& r) {
  r.add(OpKind::BatchNormalization, batch_norm_k);
  r.add(OpKind::InstanceNormalization, instance_norm_k);
  r.add(OpKind::LayerNormalization, layer_norm_k);
  r.add(OpKind::GroupNormalization, group_norm_k);
  r.add(OpKind::LpNormalization, lp_norm_k);
  r.add(OpKind::MeanVarianceNormalization, mean_variance_norm_k);
  r.add(OpKind::LRN, lrn_k);
  r.add(OpKind::Softmax, softmax_k);
  r.add(OpKind::LogSoftmax, log_softmax_k);
  r.add(OpKind::Hardmax, hardmax_k);
}

}  // namespace eave::ref
