// Reference kernels: indexing ops. Gather, GatherElements, GatherND, Scatter, ScatterElements,
// ScatterND, OneHot, Compress and NonZero. Data may have any dtype, strings included; indices
// may be negative where ONNX allows it, and an index out of range is an Error naming the node.
#include <algorithm>
#include <utility>

#include "reference/util.h"

namespace eave::ref {

namespace {

// ---------------------------------------------------------------- helpers

// Index input i (int32 or int64) as int64 values.
std::vector<int64_t> indices_input(const KernelContext& ctx, size_t i) {
  const Tensor& t = ctx.input(i);
  ctx.check(t.dtype() == DType::I32 || t.dtype() == DType::I64, "indices (input ", i,
            ") must be int32 or int64, got ", dtype_name(t.dtype()));
  return t.to_int_vector();
}

// Maps index v, which may count from the end, into [0, n); an Error if it is out of range.
int64_t resolve_index(const KernelContext& ctx, int64_t v, int64_t n, int64_t axis) {
  int64_t r = v < 0 ? v + n : v;
  ctx.check(r >= 0 && r < n, "index ", v, " is out of range for axis ", axis, " of size ", n);
  return r;
}

enum class Reduction { None, Add, Mul, Max, Min };

Reduction reduction_attr(const KernelContext& ctx) {
  std::string r = ctx.node().attr_string("reduction", "none");
  if (r == "none") return Reduction::None;
  if (r == "add") return Reduction::Add;
  if (r == "mul") return Reduction::Mul;
  if (r == "max") return Reduction::Max;
  if (r == "min") return Reduction::Min;
  ctx.fail("unknown reduction '", r, "' (expected none, add, mul, max or min)");
}

// A copy of data with updates applied: for each (to, from) pair in order, element `to` of the
// result is replaced by, or combined under `red` with, element `from` of updates.
Tensor scatter(const KernelContext& ctx, const Tensor& data, const Tensor& updates,
               const std::vector<std::pair<int64_t, int64_t>>& moves, Reduction red) {
  ctx.check(updates.dtype() == data.dtype(), "updates have element type ",
            dtype_name(updates.dtype()), ", data has ", dtype_name(data.dtype()));
  Tensor out = data.clone();
  if (red == Reduction::None) {
    for (auto [to, from] : moves) assign_element(out, to, updates, from);
    return out;
  }
  ctx.check(data.dtype() != DType::String, "reductions are not defined for strings");
  visit_dtype(data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // bool combines as 0/1 integers: add and max are or, mul and min are and.
    using C = std::conditional_t<std::is_same_v<T, bool>, int, compute_t<T>>;
    T* po = out.mutable_data<T>();
    const T* pu = updates.data<T>();
    for (auto [to, from] : moves) {
      C a = C(widen(po[to])), b = C(widen(pu[from]));
      C r = red == Reduction::Add ? C(a + b)
            : red == Reduction::Mul ? C(a * b)
            : red == Reduction::Max ? std::max(a, b)
                                    : std::min(a, b);
      if constexpr (std::is_same_v<T, bool>) po[to] = r != 0;
      else po[to] = narrow<T>(r);
    }
    return 0;
  });
  return out;
}

// ---------------------------------------------------------------- gather

void gather_k(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  ctx.check(data.rank() >= 1, "data must have rank >= 1");
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), int64_t(data.rank()));
  const Tensor& idx_t = ctx.input(1);
  std::vector<int64_t> idx = indices_input(ctx, 1);
  int64_t n = data.dim(size_t(axis));
  for (int64_t& v : idx) v = resolve_index(ctx, v, n, axis);
  // Output: data's dims before axis, the indices' dims, data's dims after axis.
  std::vector<int64_t> dims(data.dims().begin(), data.dims().begin() + axis);
  dims.insert(dims.end(), idx_t.dims().begin(), idx_t.dims().end());
  dims.insert(dims.end(), data.dims().begin() + axis + 1, data.dims().end());
  int64_t inner = shape_numel(std::span(data.dims()).subspan(size_t(axis) + 1));
  int64_t count = int64_t(idx.size());
  ctx.set_output(0, gather_flat(data, dims, [&](int64_t i) {
                   int64_t k = i % inner, j = (i / inner) % count, o = i / inner / count;
                   return (o * n + idx[size_t(j)]) * inner + k;
                 }));
}

void gather_elements_k(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx_t = ctx.input(1);
  int64_t rank = int64_t(data.rank());
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), rank);
  ctx.check(int64_t(idx_t.rank()) == rank, "indices ", dims_str(idx_t.dims()),
            " must have the rank of data ", dims_str(data.dims()));
  for (int64_t d = 0; d < rank; ++d)
    ctx.check(d == axis || idx_t.dim(size_t(d)) <= data.dim(size_t(d)), "indices ",
              dims_str(idx_t.dims()), " are larger than data ", dims_str(data.dims()),
              " on axis ", d);
  std::vector<int64_t> idx = indices_input(ctx, 1);
  std::vector<int64_t> ds = strides_of(data.dims());
  std::vector<int64_t> from;
  for_each_index(idx_t.dims(), [&](const std::vector<int64_t>& p) {
    int64_t f = 0;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = d == axis ? resolve_index(ctx, idx[from.size()], data.dim(size_t(d)), d)
                            : p[size_t(d)];
      f += c * ds[size_t(d)];
    }
    from.push_back(f);
  });
  ctx.set_output(0, gather_flat(data, idx_t.dims(), [&](int64_t i) { return from[size_t(i)]; }));
}

// GatherND and ScatterND address data with index tuples: the last axis of indices holds the
// coordinates of data's axes batch_dims .. batch_dims + k - 1. Returns, for every tuple, the
// flat offset of the slice it selects; `slice` is the element count of that slice.
std::vector<int64_t> nd_offsets(const KernelContext& ctx, const Tensor& data, const Tensor& idx_t,
                                int64_t batch_dims, int64_t& slice) {
  int64_t r = int64_t(data.rank()), q = int64_t(idx_t.rank());
  ctx.check(r >= 1 && q >= 1, "data and indices must have rank >= 1");
  ctx.check(batch_dims >= 0 && batch_dims < std::min(r, q), "batch_dims ", batch_dims,
            " must be less than the ranks of data and indices");
  for (int64_t d = 0; d < batch_dims; ++d)
    ctx.check(data.dim(size_t(d)) == idx_t.dim(size_t(d)), "batch dimension ", d, " differs: ",
              dims_str(data.dims()), " vs indices ", dims_str(idx_t.dims()));
  int64_t k = idx_t.dims().back();
  ctx.check(k >= 1 && k <= r - batch_dims, "the last dimension of indices ", dims_str(idx_t.dims()),
            " must be in [1, ", r - batch_dims, "]");
  std::vector<int64_t> idx = indices_input(ctx, 1);
  std::vector<int64_t> ds = strides_of(data.dims());
  slice = shape_numel(std::span(data.dims()).subspan(size_t(batch_dims + k)));
  int64_t batch_stride = batch_dims > 0 ? ds[size_t(batch_dims - 1)] : 0;
  int64_t per_batch = shape_numel(std::span(idx_t.dims()).subspan(size_t(batch_dims))) / k;
  int64_t tuples = int64_t(idx.size()) / k;
  std::vector<int64_t> offsets;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (t / per_batch) * batch_stride;
    for (int64_t j = 0; j < k; ++j) {
      int64_t axis = batch_dims + j;
      off += resolve_index(ctx, idx[size_t(t * k + j)], data.dim(size_t(axis)), axis) *
             ds[size_t(axis)];
    }
    offsets.push_back(off);
  }
  return offsets;
}

void gather_nd_k(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx_t = ctx.input(1);
  int64_t b = ctx.node().attr_int("batch_dims", 0);
  int64_t slice = 0;
  std::vector<int64_t> offsets = nd_offsets(ctx, data, idx_t, b, slice);
  std::vector<int64_t> dims(idx_t.dims().begin(), idx_t.dims().end() - 1);
  dims.insert(dims.end(), data.dims().begin() + b + idx_t.dims().back(), data.dims().end());
  ctx.set_output(0, gather_flat(data, dims, [&](int64_t i) {
                   return offsets[size_t(i / slice)] + i % slice;
                 }));
}

// ---------------------------------------------------------------- scatter

void scatter_elements_k(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx_t = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  int64_t rank = int64_t(data.rank());
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), rank);
  ctx.check(idx_t.dims() == updates.dims(), "indices ", dims_str(idx_t.dims()),
            " and updates ", dims_str(updates.dims()), " must have the same shape");
  ctx.check(int64_t(idx_t.rank()) == rank, "indices ", dims_str(idx_t.dims()),
            " must have the rank of data ", dims_str(data.dims()));
  for (int64_t d = 0; d < rank; ++d)
    ctx.check(d == axis || idx_t.dim(size_t(d)) <= data.dim(size_t(d)), "indices ",
              dims_str(idx_t.dims()), " are larger than data ", dims_str(data.dims()),
              " on axis ", d);
  std::vector<int64_t> idx = indices_input(ctx, 1);
  std::vector<int64_t> ds = strides_of(data.dims());
  std::vector<std::pair<int64_t, int64_t>> moves;
  for_each_index(idx_t.dims(), [&](const std::vector<int64_t>& p) {
    int64_t i = int64_t(moves.size());
    int64_t to = 0;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t c = d == axis ? resolve_index(ctx, idx[size_t(i)], data.dim(size_t(d)), d)
                            : p[size_t(d)];
      to += c * ds[size_t(d)];
    }
    moves.emplace_back(to, i);
  });
  Reduction red = ctx.node().kind() == OpKind::Scatter ? Reduction::None : reduction_attr(ctx);
  ctx.set_output(0, scatter(ctx, data, updates, moves, red));
}

void scatter_nd_k(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& idx_t = ctx.input(1);
  const Tensor& updates = ctx.input(2);
  int64_t slice = 0;
  std::vector<int64_t> offsets = nd_offsets(ctx, data, idx_t, 0, slice);
  // updates: the indices' dims without the last, then the dims of one addressed slice.
  std::vector<int64_t> want(idx_t.dims().begin(), idx_t.dims().end() - 1);
  want.insert(want.end(), data.dims().begin() + idx_t.dims().back(), data.dims().end());
  ctx.check(updates.dims() == want, "updates must have shape ", dims_str(want), ", got ",
            dims_str(updates.dims()));
  std::vector<std::pair<int64_t, int64_t>> moves;
  for (size_t t = 0; t < offsets.size(); ++t)
    for (int64_t j = 0; j < slice; ++j) moves.emplace_back(offsets[t] + j, int64_t(t) * slice + j);
  ctx.set_output(0, scatter(ctx, data, updates, moves, reduction_attr(ctx)));
}

// ---------------------------------------------------------------- one-hot, compress, nonzero

void one_hot_k(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  ctx.check(values.numel() == 2, "values must hold [off_value, on_value], got shape ",
            dims_str(values.dims()));
  double depth_v = scalar_input(ctx, 1, 0);
  int64_t depth = int64_t(depth_v);
  ctx.check(depth > 0, "depth must be positive, got ", depth_v);
  int64_t rank = int64_t(indices.rank());
  int64_t axis = ctx.node().attr_int("axis", -1);
  int64_t a = axis < 0 ? axis + rank + 1 : axis;
  ctx.check(a >= 0 && a <= rank, "axis ", axis, " is out of range for output rank ", rank + 1);
  std::vector<int64_t> dims = indices.dims();
  dims.insert(dims.begin() + a, depth);
  int64_t inner = shape_numel(std::span(indices.dims()).subspan(size_t(a)));
  // Indices count from the end when negative; any outside [-depth, depth) select nothing.
  std::vector<int64_t> hot(size_t(indices.numel()));
  for (int64_t i = 0; i < indices.numel(); ++i) {
    int64_t v = int64_t(indices.as_double(i));
    hot[size_t(i)] = v < 0 ? v + depth : v;
  }
  ctx.set_output(0, gather_flat(values, dims, [&](int64_t i) {
                   int64_t k = i % inner, d = (i / inner) % depth, o = i / inner / depth;
                   return int64_t(hot[size_t(o * inner + k)] == d);
                 }));
}

void compress_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& cond = ctx.input(1);
  ctx.check(cond.dtype() == DType::Bool && cond.rank() == 1, "condition must be a 1-D bool "
            "tensor, got ", dtype_name(cond.dtype()), dims_str(cond.dims()));
  // Without an axis the input is taken as flattened.
  Tensor in = x;
  int64_t axis = 0;
  if (ctx.node().has_attr("axis"))
    axis = normalize_axis(ctx, ctx.node().attr_int("axis"), int64_t(x.rank()));
  else
    in = x.reshaped({x.numel()});
  int64_t n = in.dim(size_t(axis));
  ctx.check(cond.numel() <= n, "condition has ", cond.numel(), " entries, more than the ", n,
            " along axis ", axis);
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < cond.numel(); ++i)
    if (cond.data<bool>()[i]) kept.push_back(i);
  std::vector<int64_t> dims = in.dims();
  dims[size_t(axis)] = int64_t(kept.size());
  int64_t inner = shape_numel(std::span(in.dims()).subspan(size_t(axis) + 1));
  int64_t count = int64_t(kept.size());
  ctx.set_output(0, gather_flat(in, dims, [&](int64_t i) {
                   int64_t k = i % inner, j = (i / inner) % count, o = i / inner / count;
                   return (o * n + kept[size_t(j)]) * inner + k;
                 }));
}

void non_zero_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < x.numel(); ++i) {
    bool nz = x.dtype() == DType::String ? !x.strings()[size_t(i)].empty() : x.as_double(i) != 0;
    if (nz) hits.push_back(i);
  }
  int64_t rank = int64_t(x.rank()), count = int64_t(hits.size());
  // One row per axis, one column per nonzero element, in row-major order.
  Tensor y(DType::I64, {rank, count});
  int64_t* py = y.mutable_data<int64_t>();
  for (int64_t j = 0; j < count; ++j) {
    int64_t rest = hits[size_t(j)];
    for (int64_t d = rank; d-- > 0;) {
      py[d * count + j] = rest % x.dim(size_t(d));
      rest /= x.dim(size_t(d));
    }
  }
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_gather_scatter_kernels(KernelRegistry& r) {
  r.add(OpKind::Gather, gather_k);
  r.add(OpKind::GatherElements, gather_elements_k);
  r.add(OpKind::GatherND, gather_nd_k);
  r.add(OpKind::Scatter, scatter_elements_k);
  r.add(OpKind::ScatterElements, scatter_elements_k);
  r.add(OpKind::ScatterND, scatter_nd_k);
  r.add(OpKind::OneHot, one_hot_k);
  r.add(OpKind::Compress, compress_k);
  r.add(OpKind::NonZero, non_zero_k);
}

}  // namespace eave::ref
