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

}  // namespace eave::ref
