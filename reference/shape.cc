// Reference kernels: shape and data-movement ops. Reshape and friends, Transpose, Concat, Split,
// Slice, Pad, Expand, Tile, Shape, Size, Identity, Dropout (inference, and seeded training),
// ConstantOfShape, Range, EyeLike, DepthToSpace, SpaceToDepth, Trilu, CenterCropPad,
// ReverseSequence, Resize and Upsample. Data movement works on every dtype, strings included;
// Resize computes in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- helpers

// A tensor of `dims` whose element at multi-index o is x's element at the multi-index that
// source(o, src) writes into src.
template <class F>
Tensor remap(const Tensor& x, std::vector<int64_t> dims, F source) {
  std::vector<int64_t> xs = strides_of(x.dims());
  std::vector<int64_t> from;
  from.reserve(size_t(shape_numel(dims)));
  std::vector<int64_t> src(x.rank(), 0);
  for_each_index(dims, [&](const std::vector<int64_t>& o) {
    source(o, src);
    int64_t f = 0;
    for (size_t d = 0; d < src.size(); ++d) f += src[d] * xs[d];
    from.push_back(f);
  });
  return gather_flat(x, std::move(dims), [&](int64_t i) { return from[size_t(i)]; });
}

// x[start[d] : : step[d]] with `dims` elements per axis.
Tensor strided_slice(const Tensor& x, const std::vector<int64_t>& start,
                     const std::vector<int64_t>& step, std::vector<int64_t> dims) {
  return remap(x, std::move(dims), [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
    for (size_t d = 0; d < o.size(); ++d) s[d] = start[d] + o[d] * step[d];
  });
}

// An integer list that an op moved from attribute `attr` to input `input` at opset `since`.
std::optional<std::vector<int64_t>> attr_or_input_ints(const KernelContext& ctx, const char* attr,
                                                       size_t input, int64_t since) {
  if (ctx.opset() >= since) return int_list_input(ctx, input);
  if (!ctx.node().has_attr(attr)) return std::nullopt;
  return ctx.node().attr_ints(attr);
}

// A tensor of `dims` filled with the single element of `value`.
Tensor filled(const Tensor& value, std::vector<int64_t> dims) {
  return gather_flat(value, std::move(dims), [](int64_t) { return int64_t(0); });
}

// ---------------------------------------------------------------- reshaping

void reshape_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> shape;
  if (ctx.opset() < 5) {
    shape = ctx.node().attr_ints("shape");
  } else {
    auto s = int_list_input(ctx, 1);
    ctx.check(s.has_value(), "the shape input is required");
    shape = *s;
  }
  bool allow_zero = ctx.node().attr_int("allowzero", 0) != 0;
  int64_t infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t& d = shape[i];
    if (d == -1) {
      ctx.check(infer < 0, "shape ", dims_str(shape), " has more than one -1");
      infer = int64_t(i);
      continue;
    }
    if (d == 0 && !allow_zero) {
      ctx.check(i < x.rank(), "shape ", dims_str(shape), " copies dimension ", i,
                " (0) but the input ", dims_str(x.dims()), " has rank ", x.rank());
      d = x.dim(i);
    }
    ctx.check(d >= 0, "shape ", dims_str(shape), " has a negative dimension other than -1");
    known *= d;
  }
  if (infer >= 0) {
    ctx.check(known != 0 && x.numel() % known == 0, "cannot infer the -1 dimension of shape ",
              dims_str(shape), " for ", x.numel(), " elements (input shape ", dims_str(x.dims()),
              ")");
    shape[size_t(infer)] = x.numel() / known;
  }
  ctx.check(shape_numel(shape) == x.numel(), "cannot reshape ", dims_str(x.dims()), " (",
            x.numel(), " elements) to ", dims_str(shape));
  ctx.set_output(0, x.reshaped(shape));
}

void flatten_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < 0) axis += rank;
  ctx.check(axis >= 0 && axis <= rank, "axis ", ctx.node().attr_int("axis", 1),
            " is out of range for rank ", rank);
  int64_t outer = shape_numel(std::span(x.dims()).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(x.dims()).subspan(size_t(axis)));
  ctx.set_output(0, x.reshaped({outer, inner}));
}

void squeeze_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  auto axes = attr_or_input_ints(ctx, "axes", 1, 13);
  std::vector<bool> drop(size_t(rank), false);
  if (axes) {
    for (int64_t a : normalize_axis_list(ctx, *axes, rank)) {
      ctx.check(x.dim(size_t(a)) == 1, "cannot squeeze axis ", a, " of shape ",
                dims_str(x.dims()), ": its size is not 1");
      drop[size_t(a)] = true;
    }
  } else {
    for (size_t d = 0; d < x.rank(); ++d) drop[d] = x.dim(d) == 1;
  }
  std::vector<int64_t> dims;
  for (size_t d = 0; d < x.rank(); ++d)
    if (!drop[d]) dims.push_back(x.dim(d));
  ctx.set_output(0, x.reshaped(dims));
}

void unsqueeze_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto axes = attr_or_input_ints(ctx, "axes", 1, 13);
  ctx.check(axes.has_value(), "axes are required");
  int64_t out_rank = int64_t(x.rank() + axes->size());
  std::vector<bool> inserted(size_t(out_rank), false);
  for (int64_t a : normalize_axis_list(ctx, *axes, out_rank)) inserted[size_t(a)] = true;
  std::vector<int64_t> dims;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d) dims.push_back(inserted[size_t(d)] ? 1 : x.dim(next++));
  ctx.set_output(0, x.reshaped(dims));
}

void transpose_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  std::vector<int64_t> perm;
  if (ctx.node().has_attr("perm")) {
    perm = ctx.node().attr_ints("perm");
    ctx.check(int64_t(perm.size()) == rank, "perm ", dims_str(perm), " does not match rank ",
              rank);
    perm = normalize_axis_list(ctx, perm, rank);
  } else {
    for (int64_t d = rank; d-- > 0;) perm.push_back(d);
  }
  std::vector<int64_t> dims;
  for (int64_t p : perm) dims.push_back(x.dim(size_t(p)));
  ctx.set_output(0, remap(x, dims, [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   for (size_t d = 0; d < o.size(); ++d) s[size_t(perm[d])] = o[d];
                 }));
}

// ---------------------------------------------------------------- concat, split, slice

void concat_k(KernelContext& ctx) {
  ctx.check(ctx.num_inputs() >= 1, "needs at least one input");
  const Tensor& first = ctx.input(0);
  int64_t rank = int64_t(first.rank());
  ctx.check(rank > 0, "cannot concatenate scalars");
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", ctx.opset() < 4 ? 1 : 0), rank);
  std::vector<int64_t> dims = first.dims();
  dims[size_t(axis)] = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    ctx.check(t.dtype() == first.dtype(), "input ", i, " has element type ",
              dtype_name(t.dtype()), ", input 0 has ", dtype_name(first.dtype()));
    bool same = int64_t(t.rank()) == rank;
    for (size_t d = 0; same && d < t.rank(); ++d)
      same = int64_t(d) == axis || t.dim(d) == first.dim(d);
    ctx.check(same, "input ", i, " has shape ", dims_str(t.dims()), ", which does not match ",
              dims_str(first.dims()), " outside axis ", axis);
    dims[size_t(axis)] += t.dim(size_t(axis));
  }
  Tensor y(first.dtype(), dims);
  // Each input contributes a block of dim(axis) * inner elements to every outer row.
  int64_t outer = shape_numel(std::span(dims).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(dims).subspan(size_t(axis) + 1));
  int64_t row = dims[size_t(axis)] * inner;
  int64_t at = 0;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    int64_t block = t.dim(size_t(axis)) * inner;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < block; ++k) assign_element(y, o * row + at + k, t, o * block + k);
    at += block;
  }
  ctx.set_output(0, std::move(y));
}

void split_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), int64_t(x.rank()));
  int64_t len = x.dim(size_t(axis));
  // The sizes are an input in Split-1 and since Split-13, an attribute in between.
  std::optional<std::vector<int64_t>> split;
  if (ctx.opset() >= 13) split = int_list_input(ctx, 1);
  else if (ctx.node().has_attr("split")) split = ctx.node().attr_ints("split");
  else if (ctx.opset() < 2) split = int_list_input(ctx, 1);
  int64_t n = int64_t(ctx.num_outputs());
  std::vector<int64_t> sizes;
  if (split) {
    ctx.check(int64_t(split->size()) == n, "split ", dims_str(*split), " has ", split->size(),
              " entries for ", n, " outputs");
    int64_t total = 0;
    for (int64_t s : *split) {
      ctx.check(s >= 0, "split ", dims_str(*split), " has a negative size");
      total += s;
    }
    ctx.check(total == len, "split ", dims_str(*split), " sums to ", total, ", but axis ", axis,
              " of ", dims_str(x.dims()), " has size ", len);
    sizes = *split;
  } else {
    if (ctx.node().has_attr("num_outputs")) {
      n = ctx.node().attr_int("num_outputs");
      ctx.check(n == int64_t(ctx.num_outputs()), "num_outputs is ", n, " but the node has ",
                ctx.num_outputs(), " outputs");
    }
    ctx.check(n > 0, "needs at least one output");
    // Since opset 18 the last chunk may be smaller; before, the split must be even.
    int64_t chunk = (len + n - 1) / n;
    ctx.check(ctx.opset() >= 18 || len % n == 0, "axis ", axis, " of ", dims_str(x.dims()),
              " cannot be split into ", n, " equal parts");
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, len - i * chunk)));
  }
  std::vector<int64_t> start(x.rank(), 0), step(x.rank(), 1);
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::vector<int64_t> dims = x.dims();
    dims[size_t(axis)] = sizes[i];
    ctx.set_output(i, strided_slice(x, start, step, dims));
    start[size_t(axis)] += sizes[i];
  }
}

void slice_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.node().attr_ints("starts");
    ends = ctx.node().attr_ints("ends");
    axes = ctx.node().attr_ints("axes", std::vector<int64_t>{});
  } else {
    auto s = int_list_input(ctx, 1);
    auto e = int_list_input(ctx, 2);
    ctx.check(s && e, "starts and ends are required");
    starts = *s;
    ends = *e;
    axes = int_list_input(ctx, 3).value_or(std::vector<int64_t>{});
    steps = int_list_input(ctx, 4).value_or(std::vector<int64_t>{});
  }
  ctx.check(starts.size() == ends.size(), "starts ", dims_str(starts), " and ends ",
            dims_str(ends), " differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  ctx.check(axes.size() == starts.size() && steps.size() == starts.size(), "starts, ends, axes ",
            "and steps must have the same length, got ", starts.size(), ", ", ends.size(), ", ",
            axes.size(), " and ", steps.size());
  axes = normalize_axis_list(ctx, axes, rank);

  std::vector<int64_t> first(x.rank(), 0), step(x.rank(), 1), dims = x.dims();
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(axes[i]);
    int64_t n = x.dim(a), st = steps[i];
    ctx.check(st != 0, "step for axis ", a, " is 0");
    // Negative positions count from the end; then clamp to the range the step direction allows.
    int64_t b = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      dims[a] = e > b ? (e - b + st - 1) / st : 0;
    } else {
      b = std::clamp<int64_t>(b, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      dims[a] = b > e ? (b - e - st - 1) / -st : 0;
    }
    first[a] = b;
    step[a] = st;
  }
  ctx.set_output(0, strided_slice(x, first, step, dims));
}

// ---------------------------------------------------------------- pad, expand, tile

enum class PadMode { Constant, Reflect, Edge, Wrap };

void pad_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  std::string mode_name = ctx.node().attr_string("mode", "constant");
  PadMode mode;
  if (mode_name == "constant") mode = PadMode::Constant;
  else if (mode_name == "reflect") mode = PadMode::Reflect;
  else if (mode_name == "edge") mode = PadMode::Edge;
  else if (mode_name == "wrap") mode = PadMode::Wrap;
  else ctx.fail("unknown mode '", mode_name, "' (expected constant, reflect, edge or wrap)");

  std::vector<int64_t> pads;
  Tensor value = Tensor(x.dtype(), {});  // zero, false or ""
  if (ctx.opset() < 11) {
    pads = ctx.node().attr_ints(ctx.opset() < 2 ? "paddings" : "pads");
    double v = ctx.node().attr_float("value", 0.0f);
    value = Tensor::scalar(v).cast(x.dtype());
  } else {
    auto p = int_list_input(ctx, 1);
    ctx.check(p.has_value(), "pads are required");
    pads = *p;
    if (const Tensor* cv = ctx.optional_input(2)) {
      ctx.check(cv->numel() == 1, "constant_value must be a scalar, got shape ",
                dims_str(cv->dims()));
      ctx.check(cv->dtype() == x.dtype(), "constant_value has element type ",
                dtype_name(cv->dtype()), ", data has ", dtype_name(x.dtype()));
      value = cv->reshaped({});
    }
  }
  std::vector<int64_t> axes;
  if (auto a = ctx.opset() >= 18 ? int_list_input(ctx, 3) : std::nullopt) {
    axes = normalize_axis_list(ctx, *a, rank);
  } else {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  ctx.check(pads.size() == 2 * axes.size(), "pads ", dims_str(pads), " must have ",
            2 * axes.size(), " entries (begin and end for each of ", axes.size(), " axes)");
  std::vector<int64_t> begin(x.rank(), 0), end(x.rank(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    begin[size_t(axes[i])] = pads[i];
    end[size_t(axes[i])] = pads[i + axes.size()];
  }

  // Negative pads crop: the region [keep_from, keep_from + keep) of the input is kept, and the
  // mode fills around it.
  std::vector<int64_t> dims(x.rank()), keep_from(x.rank()), keep(x.rank());
  for (size_t d = 0; d < x.rank(); ++d) {
    dims[d] = x.dim(d) + begin[d] + end[d];
    keep_from[d] = std::max<int64_t>(0, -begin[d]);
    keep[d] = x.dim(d) - keep_from[d] - std::max<int64_t>(0, -end[d]);
    ctx.check(keep[d] >= 0, "pads ", dims_str(pads), " crop more than axis ", d, " of ",
              dims_str(x.dims()), " holds");
    bool grows = dims[d] > keep[d];
    ctx.check(mode == PadMode::Constant || !grows || keep[d] > 0, "cannot ", mode_name,
              "-pad axis ", d, ", which is empty");
  }
  std::vector<int64_t> xs = strides_of(x.dims());
  // Position in the kept region for output coordinate o on axis d, or -1 for the constant.
  auto source = [&](size_t d, int64_t o) -> int64_t {
    int64_t c = o - std::max<int64_t>(0, begin[d]);
    int64_t m = keep[d];
    if (c < 0 || c >= m) {
      switch (mode) {
        case PadMode::Constant: return -1;
        case PadMode::Edge: c = std::clamp<int64_t>(c, 0, m - 1); break;
        case PadMode::Wrap: c = ((c % m) + m) % m; break;
        case PadMode::Reflect: {
          // Mirror without repeating the edge: period 2(m-1), as NumPy's 'reflect'.
          int64_t period = 2 * (m - 1);
          if (period == 0) {
            c = 0;
          } else {
            c = ((c % period) + period) % period;
            if (c >= m) c = period - c;
          }
          break;
        }
      }
    }
    return keep_from[d] + c;
  };
  Tensor y = filled(value, dims);
  int64_t i = 0;
  for_each_index(dims, [&](const std::vector<int64_t>& o) {
    int64_t from = 0;
    bool inside = true;
    for (size_t d = 0; d < o.size() && inside; ++d) {
      int64_t s = source(d, o[d]);
      inside = s >= 0;
      from += s * xs[d];
    }
    if (inside) assign_element(y, i, x, from);
    ++i;
  });
  ctx.set_output(0, std::move(y));
}

void expand_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto shape = int_list_input(ctx, 1);
  ctx.check(shape.has_value(), "the shape input is required");
  std::vector<int64_t> dims = broadcast_shapes(ctx, {x.dims(), *shape});
  size_t shift = dims.size() - x.rank();
  ctx.set_output(0, remap(x, dims, [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   for (size_t d = 0; d < s.size(); ++d) s[d] = x.dim(d) == 1 ? 0 : o[shift + d];
                 }));
}

void tile_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto repeats = int_list_input(ctx, 1);
  ctx.check(repeats && repeats->size() == x.rank(), "repeats must have one entry per axis of ",
            dims_str(x.dims()));
  std::vector<int64_t> dims = x.dims();
  for (size_t d = 0; d < dims.size(); ++d) {
    ctx.check((*repeats)[d] >= 0, "repeats ", dims_str(*repeats), " has a negative entry");
    dims[d] *= (*repeats)[d];
  }
  ctx.set_output(0, remap(x, dims, [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   for (size_t d = 0; d < o.size(); ++d) s[d] = o[d] % x.dim(d);
                 }));
}

// ---------------------------------------------------------------- shape, size, identity

void shape_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t rank = int64_t(x.rank());
  auto clamp_pos = [rank](int64_t p) { return std::clamp<int64_t>(p < 0 ? p + rank : p, 0, rank); };
  int64_t start = clamp_pos(ctx.node().attr_int("start", 0));
  int64_t end = ctx.node().has_attr("end") ? clamp_pos(ctx.node().attr_int("end")) : rank;
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(x.dim(size_t(d)));
  ctx.set_output(0, Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
}

void size_k(KernelContext& ctx) {
  ctx.set_output(0, Tensor::scalar<int64_t>(ctx.input(0).numel()));
}

void identity_k(KernelContext& ctx) { ctx.set_output(0, ctx.value(0)); }

// Uniform draws in [0, 1) from MT19937 seeded with `seed`, formed from two 32-bit outputs the
// way NumPy's legacy RandomState does, so that seeded results are reproducible elsewhere (the
// ONNX backend tests are generated with NumPy).
std::vector<double> uniform_draws(uint32_t seed, int64_t n) {
  std::mt19937 gen(seed);
  std::vector<double> u(static_cast<size_t>(n));
  for (double& v : u) {
    uint32_t a = gen() >> 5, b = gen() >> 6;
    v = (double(a) * 67108864.0 + double(b)) / 9007199254740992.0;
  }
  return u;
}

void dropout_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  double ratio;
  bool training;
  if (ctx.opset() >= 12) {
    ratio = scalar_input(ctx, 1, 0.5);
    training = scalar_input(ctx, 2, 0.0) != 0.0;
  } else {
    ratio = ctx.node().attr_float("ratio", 0.5f);
    training = ctx.opset() < 7 && ctx.node().attr_int("is_test", 0) == 0;
  }
  ctx.check(ratio >= 0 && ratio < 1, "ratio must be in [0, 1), got ", ratio);
  std::vector<bool> keep(size_t(x.numel()), true);
  double scale = 1;
  if (training && ratio > 0) {
    // The spec lets a missing seed be chosen freely; the reference interpreter stays
    // deterministic and uses 0.
    std::vector<double> u = uniform_draws(uint32_t(ctx.node().attr_int("seed", 0)), x.numel());
    for (size_t i = 0; i < u.size(); ++i) keep[i] = u[i] >= ratio;
    scale = 1 / (1 - ratio);
  }
  if (scale == 1) {
    ctx.set_output(0, x);
  } else {
    Tensor y(x.dtype(), x.dims());
    visit_float(ctx, x.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* px = x.data<T>();
      T* py = y.mutable_data<T>();
      for (int64_t i = 0; i < x.numel(); ++i)
        py[i] = T(compute_t<T>(keep[size_t(i)] ? double(widen(px[i])) * scale : 0.0));
      return 0;
    });
    ctx.set_output(0, std::move(y));
  }
  if (ctx.wants_output(1)) {
    // Before opset 10 the mask has the data's element type.
    Tensor mask(DType::Bool, x.dims());
    for (int64_t i = 0; i < x.numel(); ++i) mask.mutable_data<bool>()[i] = keep[size_t(i)];
    ctx.set_output(1, ctx.opset() >= 10 ? mask : mask.cast(x.dtype()));
  }
}

// ---------------------------------------------------------------- generators

void constant_of_shape_k(KernelContext& ctx) {
  auto shape = int_list_input(ctx, 0);
  ctx.check(shape.has_value(), "the shape input is required");
  for (int64_t d : *shape)
    ctx.check(d >= 0, "shape ", dims_str(*shape), " has a negative dimension");
  Tensor value = Tensor::scalar(0.0f);
  if (ctx.node().has_attr("value")) {
    value = ctx.node().attr_tensor("value");
    ctx.check(value.numel() == 1, "value must hold one element, got shape ",
              dims_str(value.dims()));
  }
  ctx.set_output(0, filled(value, *shape));
}

void range_k(KernelContext& ctx) {
  const Tensor& start = ctx.input(0);
  const Tensor& limit = ctx.input(1);
  const Tensor& delta = ctx.input(2);
  DType dt = start.dtype();
  ctx.check(limit.dtype() == dt && delta.dtype() == dt, "start, limit and delta must have the "
            "same element type");
  for (const Tensor* t : {&start, &limit, &delta})
    ctx.check(t->numel() == 1, "start, limit and delta must be scalars, got shape ",
              dims_str(t->dims()));
  Tensor y;
  visit_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool is not supported");
    } else {
      using C = compute_t<T>;
      C s = widen(start.data<T>()[0]), l = widen(limit.data<T>()[0]), d = widen(delta.data<T>()[0]);
      ctx.check(d != C(0), "delta is 0");
      double count = std::ceil((double(l) - double(s)) / double(d));
      int64_t n = std::max<int64_t>(0, int64_t(count));
      y = Tensor(dt, {n});
      T* p = y.mutable_data<T>();
      for (int64_t i = 0; i < n; ++i) p[i] = narrow<T>(C(s + C(i) * d));
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

void eye_like_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() == 2, "input must be 2-D, got shape ", dims_str(x.dims()));
  DType dt = x.dtype();
  if (ctx.node().has_attr("dtype")) {
    dt = dtype_from_onnx(int32_t(ctx.node().attr_int("dtype")));
    ctx.check(dt != DType::Undefined && dt != DType::String, "dtype ",
              ctx.node().attr_int("dtype"), " is not supported");
  }
  int64_t k = ctx.node().attr_int("k", 0);
  Tensor ones = Tensor::scalar(1.0).cast(dt);
  Tensor y(dt, x.dims());
  for (int64_t r = 0; r < x.dim(0); ++r) {
    int64_t c = r + k;
    if (c >= 0 && c < x.dim(1)) assign_element(y, r * x.dim(1) + c, ones, 0);
  }
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- rearrangement

void depth_to_space_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() == 4, "input must be 4-D (N,C,H,W), got shape ", dims_str(x.dims()));
  int64_t b = ctx.node().attr_int("blocksize");
  bool crd = ctx.node().attr_string("mode", "DCR") == "CRD";
  ctx.check(b > 0 && x.dim(1) % (b * b) == 0, "channels ", x.dim(1),
            " must be divisible by blocksize^2 (blocksize ", b, ")");
  int64_t c_out = x.dim(1) / (b * b);
  std::vector<int64_t> dims = {x.dim(0), c_out, x.dim(2) * b, x.dim(3) * b};
  ctx.set_output(0, remap(x, dims, [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   int64_t i = o[2] % b, j = o[3] % b;
                   s[0] = o[0];
                   // DCR: depth is (block row, block column, channel); CRD: (channel, row, column).
                   s[1] = crd ? (o[1] * b + i) * b + j : (i * b + j) * c_out + o[1];
                   s[2] = o[2] / b;
                   s[3] = o[3] / b;
                 }));
}

void space_to_depth_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() == 4, "input must be 4-D (N,C,H,W), got shape ", dims_str(x.dims()));
  int64_t b = ctx.node().attr_int("blocksize");
  ctx.check(b > 0 && x.dim(2) % b == 0 && x.dim(3) % b == 0, "height and width of ",
            dims_str(x.dims()), " must be divisible by blocksize ", b);
  int64_t c = x.dim(1);
  std::vector<int64_t> dims = {x.dim(0), c * b * b, x.dim(2) / b, x.dim(3) / b};
  ctx.set_output(0, remap(x, dims, [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   int64_t block = o[1] / c;
                   s[0] = o[0];
                   s[1] = o[1] % c;
                   s[2] = o[2] * b + block / b;
                   s[3] = o[3] * b + block % b;
                 }));
}

void trilu_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 2, "input must have rank >= 2, got shape ", dims_str(x.dims()));
  bool upper = ctx.node().attr_int("upper", 1) != 0;
  int64_t k = int64_t(scalar_input(ctx, 1, 0));
  int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  Tensor y(x.dtype(), x.dims());  // zero, false or "" where not kept
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t c = i % cols, r = (i / cols) % rows;
    if (upper ? c - r >= k : c - r <= k) assign_element(y, i, x, i);
  }
  ctx.set_output(0, std::move(y));
}

void center_crop_pad_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto shape = int_list_input(ctx, 1);
  ctx.check(shape.has_value(), "the shape input is required");
  int64_t rank = int64_t(x.rank());
  std::vector<int64_t> axes;
  if (ctx.node().has_attr("axes")) {
    axes = normalize_axis_list(ctx, ctx.node().attr_ints("axes"), rank);
  } else {
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  }
  ctx.check(shape->size() == axes.size(), "shape ", dims_str(*shape), " must have one entry per "
            "axis (", axes.size(), ")");
  // Output coordinate o reads input coordinate o + shift; a crop shifts forward, a pad back,
  // both by half the difference rounded down.
  std::vector<int64_t> dims = x.dims(), shift(x.rank(), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(axes[i]);
    ctx.check((*shape)[i] >= 0, "shape ", dims_str(*shape), " has a negative entry");
    int64_t diff = x.dim(a) - (*shape)[i];
    shift[a] = diff >= 0 ? diff / 2 : -((-diff) / 2);
    dims[a] = (*shape)[i];
  }
  std::vector<int64_t> xs = strides_of(x.dims());
  Tensor y(x.dtype(), dims);
  int64_t i = 0;
  for_each_index(dims, [&](const std::vector<int64_t>& o) {
    int64_t from = 0;
    bool inside = true;
    for (size_t d = 0; d < o.size(); ++d) {
      int64_t s = o[d] + shift[d];
      inside = inside && s >= 0 && s < x.dim(d);
      from += s * xs[d];
    }
    if (inside) assign_element(y, i, x, from);
    ++i;
  });
  ctx.set_output(0, std::move(y));
}

void reverse_sequence_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 2, "input must have rank >= 2, got shape ", dims_str(x.dims()));
  int64_t batch_axis = normalize_axis(ctx, ctx.node().attr_int("batch_axis", 1), 2);
  int64_t time_axis = normalize_axis(ctx, ctx.node().attr_int("time_axis", 0), 2);
  ctx.check(batch_axis != time_axis, "batch_axis and time_axis must differ");
  auto lens = int_list_input(ctx, 1);
  int64_t batch = x.dim(size_t(batch_axis)), steps = x.dim(size_t(time_axis));
  ctx.check(lens && int64_t(lens->size()) == batch, "sequence_lens must have one entry per "
            "batch element (", batch, ")");
  for (int64_t l : *lens)
    ctx.check(l >= 0 && l <= steps, "sequence length ", l, " is outside [0, ", steps, "]");
  ctx.set_output(0, remap(x, x.dims(), [&](const std::vector<int64_t>& o, std::vector<int64_t>& s) {
                   s = o;
                   int64_t len = (*lens)[size_t(o[size_t(batch_axis)])];
                   int64_t t = o[size_t(time_axis)];
                   if (t < len) s[size_t(time_axis)] = len - 1 - t;
                 }));
}

// ---------------------------------------------------------------- resize

enum class ResizeMode { Nearest, Linear, Cubic };
enum class CoordMode {
  HalfPixel,
  HalfPixelSymmetric,
  PytorchHalfPixel,
  AlignCorners,
  Asymmetric,
  TfHalfPixelForNn,
  TfCropAndResize
};
enum class NearestMode { RoundPreferFloor, RoundPreferCeil, Floor, Ceil };

struct ResizeSpec {
  ResizeMode mode = ResizeMode::Nearest;
  CoordMode coord = CoordMode::HalfPixel;
  NearestMode nearest = NearestMode::RoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation = 0;
};

// One input position an output element reads, with its weight.
struct Tap {
  int64_t index;
  double weight;
};

// Maps output coordinate x of an axis back to the input (ONNX's coordinate_transformation_mode).
// `resized` is the unrounded output length (in * scale, or the requested size).
double original_coordinate(const ResizeSpec& r, double x, double scale, int64_t in, int64_t out,
                           double resized, double roi_start, double roi_end) {
  switch (r.coord) {
    case CoordMode::HalfPixel: return (x + 0.5) / scale - 0.5;
    case CoordMode::HalfPixelSymmetric: {
      double adjustment = double(out) / resized;
      double offset = double(in) / 2 * (1 - adjustment);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CoordMode::PytorchHalfPixel: return resized > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case CoordMode::AlignCorners: return resized == 1 ? 0 : x * double(in - 1) / (resized - 1);
    case CoordMode::Asymmetric: return x / scale;
    case CoordMode::TfHalfPixelForNn: return (x + 0.5) / scale;
    case CoordMode::TfCropAndResize:
      if (resized > 1)
        return roi_start * double(in - 1) +
               x * (roi_end - roi_start) * double(in - 1) / (resized - 1);
      return 0.5 * (roi_start + roi_end) * double(in - 1);
  }
  return 0;
}

// The cubic convolution kernel with parameter a (Keys), at distance s.
double cubic_weight(double s, double a) {
  s = std::abs(s);
  if (s <= 1) return ((a + 2) * s - (a + 3)) * s * s + 1;
  if (s < 2) return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a;
  return 0;
}

// The taps of output coordinate x along one axis; empty when the coordinate falls outside the
// input under tf_crop_and_resize (the output is then extrapolation_value).
std::vector<Tap> resize_taps(const ResizeSpec& r, int64_t x, double scale, int64_t in,
                             int64_t out, double resized, double roi_start, double roi_end) {
  double pos = original_coordinate(r, double(x), scale, in, out, resized, roi_start, roi_end);
  if (r.coord == CoordMode::TfCropAndResize && (pos < 0 || pos > double(in - 1))) return {};
  auto clamp = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  if (r.mode == ResizeMode::Nearest) {
    double i;
    switch (r.nearest) {
      case NearestMode::RoundPreferFloor: i = std::ceil(pos - 0.5); break;
      case NearestMode::RoundPreferCeil: i = std::floor(pos + 0.5); break;
      case NearestMode::Floor: i = std::floor(pos); break;
      case NearestMode::Ceil: i = std::ceil(pos); break;
    }
    return {{clamp(int64_t(i)), 1.0}};
  }
  // Linear and cubic: a symmetric filter around pos. Antialiasing widens it by 1/scale when
  // downscaling, so that every input element contributes.
  double support = r.mode == ResizeMode::Linear ? 1 : 2;
  double stretch = r.antialias && scale < 1 ? scale : 1;
  double base = std::floor(pos);
  double frac = pos - base;
  int64_t reach = int64_t(std::ceil(support / stretch));
  std::vector<Tap> taps;
  double total = 0;
  for (int64_t k = 1 - reach; k <= reach; ++k) {
    double s = (double(k) - frac) * stretch;
    double w = r.mode == ResizeMode::Linear ? std::max(0.0, 1 - std::abs(s))
                                            : cubic_weight(s, r.cubic_a);
    int64_t i = int64_t(base) + k;
    if (r.exclude_outside && (i < 0 || i >= in)) w = 0;
    taps.push_back({clamp(i), w});
    total += w;
  }
  // Exclusion and the widened filter change the weights' sum; renormalize them to 1.
  if ((r.exclude_outside || stretch != 1) && total != 0)
    for (Tap& t : taps) t.weight /= total;
  std::erase_if(taps, [](const Tap& t) { return t.weight == 0; });
  return taps;
}

template <class T>
T from_double(double v) {
  if constexpr (std::is_integral_v<T>) {
    // Integer outputs round to nearest and saturate.
    if (std::isnan(v)) return T(0);
    v = std::nearbyint(v);
    if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return T(v);
  } else {
    return T(compute_t<T>(v));
  }
}

// The geometry of a resize: for every axis the output length, the scale coordinate transforms
// divide by, the unrounded resized length, and the region of interest [start, end].
struct ResizeAxes {
  std::vector<int64_t> out;
  std::vector<double> scale, resized, roi_start, roi_end;
};

// Resizes x as `g` describes.
Tensor resize_tensor(const KernelContext& ctx, const Tensor& x, const ResizeSpec& r,
                     const ResizeAxes& g) {
  size_t rank = x.rank();
  const std::vector<int64_t>& out = g.out;
  // taps[d][o]: what output coordinate o on axis d reads.
  std::vector<std::vector<std::vector<Tap>>> taps(rank);
  for (size_t d = 0; d < rank; ++d)
    for (int64_t o = 0; o < out[d]; ++o)
      taps[d].push_back(resize_taps(r, o, g.scale[d], x.dim(d), out[d], g.resized[d],
                                    g.roi_start[d], g.roi_end[d]));
  ctx.check(x.numel() > 0 || shape_numel(out) == 0, "cannot resize the empty tensor ",
            dims_str(x.dims()), " to ", dims_str(out));
  std::vector<int64_t> xs = strides_of(x.dims());
  Tensor y(x.dtype(), out);
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    int64_t i = 0;
    for_each_index(out, [&](const std::vector<int64_t>& o) {
      bool outside = false;
      for (size_t d = 0; d < rank; ++d) outside |= taps[d][size_t(o[d])].empty();
      double acc = 0;
      if (outside) {
        acc = r.extrapolation;
      } else {
        // Sum over every combination of one tap per axis: the interpolation is separable.
        auto sum = [&](auto& self, size_t d, int64_t offset, double weight) -> void {
          if (d == rank) {
            acc += weight * double(widen(px[offset]));
            return;
          }
          for (const Tap& t : taps[d][size_t(o[d])])
            self(self, d + 1, offset + t.index * xs[d], weight * t.weight);
        };
        sum(sum, 0, 0, 1.0);
      }
      py[i++] = from_double<T>(acc);
    });
    return 0;
  });
  return y;
}

ResizeSpec resize_spec(const KernelContext& ctx) {
  const Node& n = ctx.node();
  ResizeSpec r;
  std::string mode = n.attr_string("mode", "nearest");
  if (mode == "nearest") r.mode = ResizeMode::Nearest;
  else if (mode == "linear" || mode == "bilinear") r.mode = ResizeMode::Linear;
  else if (mode == "cubic") r.mode = ResizeMode::Cubic;
  else ctx.fail("unknown mode '", mode, "' (expected nearest, linear or cubic)");
  if (n.kind() == OpKind::Upsample || ctx.opset() < 11) {
    // Upsample and Resize-10 map coordinates asymmetrically and pick the nearest by flooring.
    r.coord = CoordMode::Asymmetric;
    r.nearest = NearestMode::Floor;
    return r;
  }
  std::string coord = n.attr_string("coordinate_transformation_mode", "half_pixel");
  if (coord == "half_pixel") r.coord = CoordMode::HalfPixel;
  else if (coord == "half_pixel_symmetric") r.coord = CoordMode::HalfPixelSymmetric;
  else if (coord == "pytorch_half_pixel") r.coord = CoordMode::PytorchHalfPixel;
  else if (coord == "align_corners") r.coord = CoordMode::AlignCorners;
  else if (coord == "asymmetric") r.coord = CoordMode::Asymmetric;
  else if (coord == "tf_half_pixel_for_nn") r.coord = CoordMode::TfHalfPixelForNn;
  else if (coord == "tf_crop_and_resize") r.coord = CoordMode::TfCropAndResize;
  else ctx.fail("unknown coordinate_transformation_mode '", coord, "'");
  std::string nearest = n.attr_string("nearest_mode", "round_prefer_floor");
  if (nearest == "round_prefer_floor") r.nearest = NearestMode::RoundPreferFloor;
  else if (nearest == "round_prefer_ceil") r.nearest = NearestMode::RoundPreferCeil;
  else if (nearest == "floor") r.nearest = NearestMode::Floor;
  else if (nearest == "ceil") r.nearest = NearestMode::Ceil;
  else ctx.fail("unknown nearest_mode '", nearest, "'");
  r.cubic_a = n.attr_float("cubic_coeff_a", -0.75f);
  r.exclude_outside = n.attr_int("exclude_outside", 0) != 0;
  r.antialias = n.attr_int("antialias", 0) != 0;
  r.extrapolation = n.attr_float("extrapolation_value", 0.0f);
  return r;
}

std::vector<double> float_list(const Tensor& t) {
  std::vector<double> v(size_t(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[size_t(i)] = t.as_double(i);
  return v;
}

void resize_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  size_t rank = x.rank();
  ResizeSpec r = resize_spec(ctx);
  bool upsample = ctx.node().kind() == OpKind::Upsample;

  // Inputs by version: Upsample-7 (scales attribute), Upsample-9 and Resize-10 (X, scales),
  // Resize-11+ (X, roi, scales, sizes). Empty tensors count as absent.
  auto present = [&](size_t i) -> const Tensor* {
    const Tensor* t = ctx.optional_input(i);
    return t && t->numel() > 0 ? t : nullptr;
  };
  std::optional<std::vector<double>> scales, roi_given;
  std::optional<std::vector<int64_t>> sizes;
  if (upsample && ctx.opset() < 9) {
    std::vector<float> s = ctx.node().attr_floats("scales");
    scales = std::vector<double>(s.begin(), s.end());
  } else if (upsample || ctx.opset() < 11) {
    if (const Tensor* s = present(1)) scales = float_list(*s);
    ctx.check(scales.has_value(), "scales are required");
  } else {
    if (const Tensor* t = present(1)) roi_given = float_list(*t);
    if (const Tensor* t = present(2)) scales = float_list(*t);
    if (const Tensor* t = present(3)) sizes = t->to_int_vector();
    ctx.check(scales.has_value() != sizes.has_value(), "exactly one of scales and sizes must be "
              "given");
  }

  std::vector<int64_t> axes;
  if (ctx.node().has_attr("axes")) {
    axes = normalize_axis_list(ctx, ctx.node().attr_ints("axes"), int64_t(rank));
  } else {
    for (size_t d = 0; d < rank; ++d) axes.push_back(int64_t(d));
  }
  size_t given = scales ? scales->size() : sizes->size();
  ctx.check(given == axes.size(), scales ? "scales" : "sizes", " must have ", axes.size(),
            " entries (one per resized axis), got ", given);

  ResizeAxes g;
  g.out = x.dims();
  g.scale.assign(rank, 1.0);
  g.roi_start.assign(rank, 0.0);
  g.roi_end.assign(rank, 1.0);
  for (size_t d = 0; d < rank; ++d) g.resized.push_back(double(x.dim(d)));
  // The region of interest only matters to tf_crop_and_resize.
  if (roi_given && r.coord == CoordMode::TfCropAndResize) {
    ctx.check(roi_given->size() == 2 * axes.size(), "roi must have ", 2 * axes.size(),
              " entries, got ", roi_given->size());
    for (size_t i = 0; i < axes.size(); ++i) {
      g.roi_start[size_t(axes[i])] = (*roi_given)[i];
      g.roi_end[size_t(axes[i])] = (*roi_given)[i + axes.size()];
    }
  }

  if (scales) {
    for (size_t i = 0; i < axes.size(); ++i) {
      size_t a = size_t(axes[i]);
      double s = (*scales)[i];
      ctx.check(s > 0, "scales must be positive, got ", s, " for axis ", a);
      // The spec's prose also multiplies by the roi extent under tf_crop_and_resize; ONNX's
      // shape inference and its reference implementation do not, and neither do we, so that
      // outputs match the shapes models declare.
      double len = double(x.dim(a)) * s;
      g.scale[a] = s;
      g.resized[a] = len;
      g.out[a] = int64_t(std::floor(len));
    }
  } else {
    std::string policy = ctx.node().attr_string("keep_aspect_ratio_policy", "stretch");
    ctx.check(policy == "stretch" || policy == "not_larger" || policy == "not_smaller",
              "unknown keep_aspect_ratio_policy '", policy, "'");
    for (size_t i = 0; i < axes.size(); ++i) {
      size_t a = size_t(axes[i]);
      ctx.check((*sizes)[i] >= 0, "sizes ", dims_str(*sizes), " has a negative entry");
      ctx.check(x.dim(a) > 0, "cannot resize axis ", a, " of ", dims_str(x.dims()),
                ", which is empty");
      g.out[a] = (*sizes)[i];
      g.resized[a] = double((*sizes)[i]);
      g.scale[a] = double((*sizes)[i]) / double(x.dim(a));
    }
    if (policy != "stretch" && !axes.empty()) {
      // One scale for every resized axis: the largest that fits in (or the smallest that
      // covers) the requested sizes. Sizes round half up.
      double s = g.scale[size_t(axes[0])];
      for (int64_t a : axes)
        s = policy == "not_larger" ? std::min(s, g.scale[size_t(a)])
                                   : std::max(s, g.scale[size_t(a)]);
      for (int64_t a : axes) {
        g.scale[size_t(a)] = s;
        g.resized[size_t(a)] = s * double(x.dim(size_t(a)));
        g.out[size_t(a)] = int64_t(std::floor(g.resized[size_t(a)] + 0.5));
      }
    }
  }
  ctx.set_output(0, resize_tensor(ctx, x, r, g));
}

}  // namespace

void register_shape_kernels(KernelRegistry& r) {
  r.add(OpKind::Reshape, reshape_k);
  r.add(OpKind::Flatten, flatten_k);
  r.add(OpKind::Squeeze, squeeze_k);
  r.add(OpKind::Unsqueeze, unsqueeze_k);
  r.add(OpKind::Transpose, transpose_k);
  r.add(OpKind::Concat, concat_k);
  r.add(OpKind::Split, split_k);
  r.add(OpKind::Slice, slice_k);
  r.add(OpKind::Pad, pad_k);
  r.add(OpKind::Expand, expand_k);
  r.add(OpKind::Tile, tile_k);
  r.add(OpKind::Shape, shape_k);
  r.add(OpKind::Size, size_k);
  r.add(OpKind::Identity, identity_k);
  r.add(OpKind::Dropout, dropout_k);
  r.add(OpKind::ConstantOfShape, constant_of_shape_k);
  r.add(OpKind::Range, range_k);
  r.add(OpKind::EyeLike, eye_like_k);
  r.add(OpKind::DepthToSpace, depth_to_space_k);
  r.add(OpKind::SpaceToDepth, space_to_depth_k);
  r.add(OpKind::Trilu, trilu_k);
  r.add(OpKind::CenterCropPad, center_crop_pad_k);
  r.add(OpKind::ReverseSequence, reverse_sequence_k);
  r.add(OpKind::Resize, resize_k);
  r.add(OpKind::Upsample, resize_k);
}

}  // namespace eave::ref
