#include "reference/util.h"

#include <cstring>

namespace eave::ref {

int64_t normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  ctx.check(a >= 0 && a < rank, "axis ", axis, " is out of range for rank ", rank);
  return a;
}

std::vector<int64_t> strides_of(std::span<const int64_t> dims) {
  std::vector<int64_t> s(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
  return s;
}

std::vector<int64_t> broadcast_shapes(const KernelContext& ctx,
                                      const std::vector<std::vector<int64_t>>& shapes) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  std::vector<int64_t> out(rank, 1);
  for (const auto& s : shapes) {
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[rank - s.size() + i];
      int64_t d = s[i];
      if (o == d || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      std::string all;
      for (const auto& x : shapes) all += (all.empty() ? "" : " and ") + dims_str(x);
      ctx.fail("shapes ", all, " cannot be broadcast together");
    }
  }
  return out;
}

std::vector<int64_t> broadcast_shapes(const KernelContext& ctx,
                                      std::initializer_list<std::span<const int64_t>> shapes) {
  std::vector<std::vector<int64_t>> v;
  for (auto s : shapes) v.emplace_back(s.begin(), s.end());
  return broadcast_shapes(ctx, v);
}

std::vector<int64_t> broadcast_strides(std::span<const int64_t> in, std::span<const int64_t> out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> in_strides = strides_of(in);
  size_t shift = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[shift + i] = in[i] == 1 ? 0 : in_strides[i];
  return s;
}

namespace {

// Offsets (under row-major strides of `dims`) of every index over the axes where `pick` is set,
// the other axes held at 0, in row-major order of the picked axes.
std::vector<int64_t> offsets_over(std::span<const int64_t> dims, const std::vector<bool>& pick) {
  std::vector<int64_t> strides = strides_of(dims);
  std::vector<int64_t> sub_dims, sub_strides;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (!pick[d]) continue;
    sub_dims.push_back(dims[d]);
    sub_strides.push_back(strides[d]);
  }
  std::vector<int64_t> out;
  out.reserve(size_t(shape_numel(sub_dims)));
  for_each_broadcast(sub_dims, {sub_strides},
                     [&](int64_t, const std::vector<int64_t>& off) { out.push_back(off[0]); });
  return out;
}

}  // namespace

ReduceOffsets reduce_offsets(std::span<const int64_t> dims, const std::vector<bool>& reduced) {
  EAVE_ASSERT(reduced.size() == dims.size());
  std::vector<bool> kept(reduced.size());
  for (size_t d = 0; d < reduced.size(); ++d) kept[d] = !reduced[d];
  return {offsets_over(dims, kept), offsets_over(dims, reduced)};
}

std::vector<bool> axes_mask(const KernelContext& ctx, std::span<const int64_t> axes, int64_t rank) {
  std::vector<bool> mask(size_t(rank), false);
  for (int64_t a : axes) {
    int64_t n = normalize_axis(ctx, a, rank);
    ctx.check(!mask[size_t(n)], "axis ", a, " is given more than once");
    mask[size_t(n)] = true;
  }
  return mask;
}

double scalar_input(const KernelContext& ctx, size_t i, double dflt) {
  const Tensor* t = ctx.optional_input(i);
  if (!t) return dflt;
  ctx.check(t->numel() == 1, "input ", i, " must be a scalar, got shape ", dims_str(t->dims()));
  return t->as_double(0);
}

}  // namespace eave::ref

namespace eave::ref {

void assign_element(Tensor& dst, int64_t dst_i, const Tensor& src, int64_t src_i) {
  EAVE_ASSERT(dst.dtype() == src.dtype());
  if (src.dtype() == DType::String) {
    dst.mutable_strings()[size_t(dst_i)] = src.strings()[size_t(src_i)];
    return;
  }
  size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.mutable_raw()) + size_t(dst_i) * es,
              static_cast<const uint8_t*>(src.raw()) + size_t(src_i) * es, es);
}

std::optional<std::vector<int64_t>> int_list_input(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.optional_input(i);
  if (!t) return std::nullopt;
  ctx.check(is_integer(t->dtype()), "input ", i, " must be an integer tensor, got ",
            dtype_name(t->dtype()));
  ctx.check(t->rank() <= 1, "input ", i, " must be 1-D, got shape ", dims_str(t->dims()));
  return t->to_int_vector();
}

std::vector<int64_t> normalize_axis_list(const KernelContext& ctx, std::vector<int64_t> axes,
                                         int64_t rank) {
  std::vector<bool> seen(size_t(rank), false);
  for (int64_t& a : axes) {
    a = normalize_axis(ctx, a, rank);
    ctx.check(!seen[size_t(a)], "axis ", a, " is given more than once");
    seen[size_t(a)] = true;
  }
  return axes;
}

void copy_elements(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count) {
  EAVE_ASSERT(src.dtype() == dst.dtype());
  EAVE_ASSERT(src_at >= 0 && src_at + count <= src.numel());
  EAVE_ASSERT(dst_at >= 0 && dst_at + count <= dst.numel());
  if (count <= 0) return;
  if (src.dtype() == DType::String) {
    for (int64_t i = 0; i < count; ++i)
      dst.mutable_strings()[size_t(dst_at + i)] = src.strings()[size_t(src_at + i)];
    return;
  }
  size_t es = dtype_size(src.dtype());
  std::memcpy(static_cast<uint8_t*>(dst.mutable_raw()) + size_t(dst_at) * es,
              static_cast<const uint8_t*>(src.raw()) + size_t(src_at) * es, size_t(count) * es);
}

Tensor slice_axis(const Tensor& x, int64_t axis, int64_t start, int64_t len) {
  EAVE_ASSERT(axis >= 0 && size_t(axis) < x.rank());
  EAVE_ASSERT(start >= 0 && len >= 0 && start + len <= x.dim(size_t(axis)));
  std::vector<int64_t> dims = x.dims();
  dims[size_t(axis)] = len;
  Tensor y(x.dtype(), dims);
  int64_t outer = shape_numel(std::span(x.dims()).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(x.dims()).subspan(size_t(axis) + 1));
  int64_t n = x.dim(size_t(axis));
  for (int64_t o = 0; o < outer; ++o)
    copy_elements(x, (o * n + start) * inner, y, o * len * inner, len * inner);
  return y;
}

Tensor concat_axis(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis) {
  EAVE_ASSERT(!parts.empty());
  const Tensor& first = parts[0];
  EAVE_ASSERT(axis >= 0 && size_t(axis) < first.rank());
  std::vector<int64_t> dims = first.dims();
  dims[size_t(axis)] = 0;
  for (const Tensor& p : parts) {
    ctx.check(p.dtype() == first.dtype(), "cannot join tensors of element types ",
              dtype_name(first.dtype()), " and ", dtype_name(p.dtype()));
    bool same = p.rank() == first.rank();
    for (size_t d = 0; same && d < p.rank(); ++d)
      same = d == size_t(axis) || p.dim(d) == first.dim(d);
    ctx.check(same, "cannot join shapes ", dims_str(first.dims()), " and ", dims_str(p.dims()),
              " along axis ", axis);
    dims[size_t(axis)] += p.dim(size_t(axis));
  }
  Tensor y(first.dtype(), dims);
  int64_t outer = shape_numel(std::span(dims).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(dims).subspan(size_t(axis) + 1));
  int64_t at = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (const Tensor& p : parts) {
      int64_t chunk = p.dim(size_t(axis)) * inner;
      copy_elements(p, o * chunk, y, at, chunk);
      at += chunk;
    }
  }
  return y;
}

Tensor squeeze_axis(const Tensor& x, int64_t axis) {
  EAVE_ASSERT(axis >= 0 && size_t(axis) < x.rank() && x.dim(size_t(axis)) == 1);
  std::vector<int64_t> dims = x.dims();
  dims.erase(dims.begin() + axis);
  return x.reshaped(dims);
}

Tensor unsqueeze_axis(const Tensor& x, int64_t axis) {
  EAVE_ASSERT(axis >= 0 && size_t(axis) <= x.rank());
  std::vector<int64_t> dims = x.dims();
  dims.insert(dims.begin() + axis, 1);
  return x.reshaped(dims);
}

}  // namespace eave::ref
