// Reference kernels: reductions. The Reduce* family over a set of axes, ArgMax/ArgMin along one
// axis, CumSum along one axis. Floats accumulate in compute_t<T> (float for 16-bit floats, double
// for f64); integers accumulate in 64 bits and wrap to the element type at the end, the way the
// element type's own arithmetic would.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "reference/util.h"

namespace eave::ref {

namespace {

// The type the transcendental reductions (L2, LogSum, LogSumExp) compute an accumulator A in.
template <class A>
using real_t = std::conditional_t<std::is_floating_point_v<A>, A, double>;

// A real result as accumulator A. Integers truncate toward zero, as numpy's astype does, and
// saturate (NaN gives 0), so that log(0) = -inf gives the lowest value, not undefined behaviour.
template <class A, class R>
A from_real(R v) {
  if constexpr (std::is_floating_point_v<A>) {
    return A(v);
  } else {
    if (std::isnan(v)) return 0;
    if (v <= R(std::numeric_limits<A>::lowest())) return std::numeric_limits<A>::lowest();
    if (v >= R(std::numeric_limits<A>::max())) return std::numeric_limits<A>::max();
    return A(v);
  }
}

template <class A>
bool is_nan(A v) {
  if constexpr (std::is_floating_point_v<A>) return std::isnan(v);
  else return false;
}

// ---------------------------------------------------------------- Reduce*

// Each reduction maps the values of one group (possibly none) to one result. An empty group
// gives the identity of the reduction: 0 for sums, 1 for products, -inf (or the lowest value)
// for max, +inf (or the highest value) for min, log(0) = -inf for the log reductions. ReduceMean
// of nothing is 0/0: NaN for floats, 0 for integers.

constexpr auto reduce_sum = []<class A>(const std::vector<A>& v) {
  A s = 0;
  for (A x : v) s = wrapping_add(s, x);
  return s;
};

constexpr auto reduce_sum_square = []<class A>(const std::vector<A>& v) {
  A s = 0;
  for (A x : v) s = wrapping_add(s, wrapping_mul(x, x));
  return s;
};

constexpr auto reduce_l1 = []<class A>(const std::vector<A>& v) {
  A s = 0;
  for (A x : v) s = wrapping_add(s, x < 0 ? wrapping_neg(x) : x);
  return s;
};

constexpr auto reduce_l2 = []<class A>(const std::vector<A>& v) {
  return from_real<A>(std::sqrt(real_t<A>(reduce_sum_square(v))));
};

constexpr auto reduce_log_sum = []<class A>(const std::vector<A>& v) {
  return from_real<A>(std::log(real_t<A>(reduce_sum(v))));
};

constexpr auto reduce_prod = []<class A>(const std::vector<A>& v) {
  A p = 1;
  for (A x : v) p = wrapping_mul(p, x);
  return p;
};

constexpr auto reduce_mean = []<class A>(const std::vector<A>& v) {
  if constexpr (std::is_floating_point_v<A>) return reduce_sum(v) / A(v.size());
  else return v.empty() ? A(0) : A(reduce_sum(v) / A(v.size()));
};

// Max and min propagate NaN, as numpy's do.
constexpr auto reduce_max = []<class A>(const std::vector<A>& v) {
  A m = std::numeric_limits<A>::has_infinity ? -std::numeric_limits<A>::infinity()
                                             : std::numeric_limits<A>::lowest();
  for (A x : v) {
    if (is_nan(x)) return x;
    if (m < x) m = x;
  }
  return m;
};

constexpr auto reduce_min = []<class A>(const std::vector<A>& v) {
  A m = std::numeric_limits<A>::has_infinity ? std::numeric_limits<A>::infinity()
                                             : std::numeric_limits<A>::max();
  for (A x : v) {
    if (is_nan(x)) return x;
    if (x < m) m = x;
  }
  return m;
};

// log(sum(exp(x))) computed as max + log(sum(exp(x - max))) so that large inputs do not overflow.
constexpr auto reduce_log_sum_exp = []<class A>(const std::vector<A>& v) {
  using R = real_t<A>;
  R m = -std::numeric_limits<R>::infinity();
  for (A x : v) m = std::max(m, R(x));
  if (std::isinf(m)) return from_real<A>(m);  // empty, all -inf, or some +inf
  R s = 0;
  for (A x : v) s += std::exp(R(x) - m);
  return from_real<A>(m + std::log(s));
};

// The axes a Reduce* node reduces over as a mask, or nullopt when it is the identity
// (noop_with_empty_axes set and no axes given). Axes are an attribute before
// `axes_input_since` and an optional int64 input from then on.
std::optional<std::vector<bool>> reduce_axes(const KernelContext& ctx, int64_t rank,
                                             int64_t axes_input_since) {
  std::vector<int64_t> axes;
  if (ctx.opset() >= axes_input_since) {
    ctx.check(!ctx.node().has_attr("axes"), "axes must be given as input 1 since opset ",
              axes_input_since, ", not as an attribute");
    if (const Tensor* t = ctx.optional_input(1)) {
      ctx.check(t->dtype() == DType::I64, "axes (input 1) must be int64, got ",
                dtype_name(t->dtype()));
      ctx.check(t->rank() == 1, "axes (input 1) must be 1-D, got shape ", dims_str(t->dims()));
      axes = t->to_int_vector();
    }
  } else {
    axes = ctx.node().attr_ints("axes", std::vector<int64_t>{});
  }
  if (axes.empty()) {
    if (ctx.node().attr_int("noop_with_empty_axes", 0) != 0) return std::nullopt;
    return std::vector<bool>(size_t(rank), true);
  }
  return axes_mask(ctx, axes, rank);
}

// Runs a Reduce* op: `op` maps the accumulator-typed values of each group to its result.
// Bool inputs are accepted only where `allow_bool` (ReduceMax/ReduceMin since opset 20).
template <class Op>
void reduce(KernelContext& ctx, int64_t axes_input_since, Op op, bool allow_bool = false) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  std::optional<std::vector<bool>> mask = reduce_axes(ctx, rank, axes_input_since);
  if (!mask) {
    ctx.set_output(0, x.clone());
    return;
  }
  bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  std::vector<int64_t> out_dims;
  for (size_t d = 0; d < x.rank(); ++d) {
    if (!(*mask)[d]) out_dims.push_back(x.dim(d));
    else if (keepdims) out_dims.push_back(1);
  }
  Tensor y(x.dtype(), out_dims);
  ReduceOffsets ro = reduce_offsets(x.dims(), *mask);
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      if (!allow_bool) ctx.fail("bool inputs are not supported");
    }
    using A = accum_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<A> group(ro.inner.size());
    for (size_t g = 0; g < ro.outer.size(); ++g) {
      for (size_t k = 0; k < ro.inner.size(); ++k)
        group[k] = A(widen(px[ro.outer[g] + ro.inner[k]]));
      py[g] = to_element<T>(op(group));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ReduceSum takes axes as an input since opset 13, the others since opset 18.
void reduce_sum_k(KernelContext& ctx) { reduce(ctx, 13, reduce_sum); }
void reduce_mean_k(KernelContext& ctx) { reduce(ctx, 18, reduce_mean); }
void reduce_max_k(KernelContext& ctx) { reduce(ctx, 18, reduce_max, ctx.opset() >= 20); }
void reduce_min_k(KernelContext& ctx) { reduce(ctx, 18, reduce_min, ctx.opset() >= 20); }
void reduce_prod_k(KernelContext& ctx) { reduce(ctx, 18, reduce_prod); }
void reduce_l1_k(KernelContext& ctx) { reduce(ctx, 18, reduce_l1); }
void reduce_l2_k(KernelContext& ctx) { reduce(ctx, 18, reduce_l2); }
void reduce_log_sum_k(KernelContext& ctx) { reduce(ctx, 18, reduce_log_sum); }
void reduce_log_sum_exp_k(KernelContext& ctx) { reduce(ctx, 18, reduce_log_sum_exp); }
void reduce_sum_square_k(KernelContext& ctx) { reduce(ctx, 18, reduce_sum_square); }

// ---------------------------------------------------------------- ArgMax, ArgMin

// The int64 index of the largest (or smallest) element along `axis`. Ties go to the first index,
// or the last with select_last_index. NaN counts as beyond every number, as in numpy.
void arg_reduce(KernelContext& ctx, bool is_max) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), rank);
  bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
  bool last = ctx.node().attr_int("select_last_index", 0) != 0;
  int64_t n = x.dim(size_t(axis));
  ctx.check(n > 0, "cannot take ", is_max ? "ArgMax" : "ArgMin", " along axis ", axis,
            ", which has size 0");
  std::vector<int64_t> out_dims = x.dims();
  if (keepdims) out_dims[size_t(axis)] = 1;
  else out_dims.erase(out_dims.begin() + axis);
  Tensor y(DType::I64, out_dims);
  int64_t* py = y.mutable_data<int64_t>();
  std::vector<bool> mask(size_t(rank), false);
  mask[size_t(axis)] = true;
  ReduceOffsets ro = reduce_offsets(x.dims(), mask);
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      const T* px = x.data<T>();
      auto beats = [is_max](auto v, auto best) {
        if (is_nan(best)) return false;
        if (is_nan(v)) return true;
        return is_max ? best < v : v < best;
      };
      for (size_t g = 0; g < ro.outer.size(); ++g) {
        auto at = [&](int64_t k) { return widen(px[ro.outer[g] + ro.inner[size_t(k)]]); };
        // Scanning from the far end makes the strict comparison keep the last of equal values.
        int64_t best = last ? n - 1 : 0;
        for (int64_t i = 1; i < n; ++i) {
          int64_t k = last ? n - 1 - i : i;
          if (beats(at(k), at(best))) best = k;
        }
        py[g] = best;
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void arg_max_k(KernelContext& ctx) { arg_reduce(ctx, true); }
void arg_min_k(KernelContext& ctx) { arg_reduce(ctx, false); }

// ---------------------------------------------------------------- CumSum

// Running sums along the axis given as input 1. `exclusive` leaves each element out of its own
// sum; `reverse` sums from the end of the axis.
void cum_sum_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& axis_t = ctx.input(1);
  ctx.check(axis_t.dtype() == DType::I32 || axis_t.dtype() == DType::I64,
            "axis (input 1) must be int32 or int64, got ", dtype_name(axis_t.dtype()));
  ctx.check(axis_t.numel() == 1 && axis_t.rank() <= 1,
            "axis (input 1) must be a scalar, got shape ", dims_str(axis_t.dims()));
  int64_t rank = int64_t(x.rank());
  int64_t axis = normalize_axis(ctx, axis_t.as_int(0), rank);
  bool exclusive = ctx.node().attr_int("exclusive", 0) != 0;
  bool reverse = ctx.node().attr_int("reverse", 0) != 0;
  std::vector<bool> mask(size_t(rank), false);
  mask[size_t(axis)] = true;
  ReduceOffsets ro = reduce_offsets(x.dims(), mask);
  int64_t n = x.dim(size_t(axis));
  Tensor y(x.dtype(), x.dims());
  visit_dtype(x.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      using A = accum_t<T>;
      const T* px = x.data<T>();
      T* py = y.mutable_data<T>();
      for (int64_t base : ro.outer) {
        A sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          int64_t off = base + ro.inner[size_t(reverse ? n - 1 - i : i)];
          A v = A(widen(px[off]));
          if (!exclusive) sum += v;
          py[off] = to_element<T>(sum);
          if (exclusive) sum += v;
        }
      }
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_reduction_kernels(KernelRegistry& r) {
  r.add(OpKind::ReduceSum, reduce_sum_k);
  r.add(OpKind::ReduceMean, reduce_mean_k);
  r.add(OpKind::ReduceMax, reduce_max_k);
  r.add(OpKind::ReduceMin, reduce_min_k);
  r.add(OpKind::ReduceProd, reduce_prod_k);
  r.add(OpKind::ReduceL1, reduce_l1_k);
  r.add(OpKind::ReduceL2, reduce_l2_k);
  r.add(OpKind::ReduceLogSum, reduce_log_sum_k);
  r.add(OpKind::ReduceLogSumExp, reduce_log_sum_exp_k);
  r.add(OpKind::ReduceSumSquare, reduce_sum_square_k);
  r.add(OpKind::ArgMax, arg_max_k);
  r.add(OpKind::ArgMin, arg_min_k);
  r.add(OpKind::CumSum, cum_sum_k);
}

}  // namespace eave::ref
