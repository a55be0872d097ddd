// Small helpers shared by reference kernels: axes, strides, broadcasting, element conversion.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "ir/tensor.h"
#include "reference/kernel.h"

namespace eave::ref {

// Maps a possibly negative axis into [0, rank); an Error naming the node if out of range.
int64_t normalize_axis(const KernelContext& ctx, int64_t axis, int64_t rank);

// Row-major strides, in elements.
std::vector<int64_t> strides_of(std::span<const int64_t> dims);

// NumPy-style broadcast of several shapes; an Error naming the node if incompatible.
std::vector<int64_t> broadcast_shapes(const KernelContext& ctx,
                                      std::initializer_list<std::span<const int64_t>> shapes);
std::vector<int64_t> broadcast_shapes(const KernelContext& ctx,
                                      const std::vector<std::vector<int64_t>>& shapes);

// Strides (in elements) for reading a tensor of `in` dims as if it had `out` dims (right-aligned
// broadcasting): broadcast dimensions get stride 0.
std::vector<int64_t> broadcast_strides(std::span<const int64_t> in, std::span<const int64_t> out);

// Calls f(linear_out_index, offsets...) for every element of `out_dims`, where offsets[k] is
// the element offset into input k under `strides[k]` (from broadcast_strides).
template <class F>
void for_each_broadcast(std::span<const int64_t> out_dims,
                        const std::vector<std::vector<int64_t>>& strides, F&& f) {
  size_t rank = out_dims.size();
  int64_t n = shape_numel(out_dims);
  std::vector<int64_t> idx(rank, 0);
  std::vector<int64_t> off(strides.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < strides.size(); ++k) off[k] += strides[k][d];
      if (idx[d] < out_dims[d]) break;
      for (size_t k = 0; k < strides.size(); ++k) off[k] -= strides[k][d] * out_dims[d];
      idx[d] = 0;
    }
  }
}

// Element offsets of a tensor of `dims` grouped for reducing over the axes marked in `reduced`:
// element k of group g is at outer[g] + inner[k]. Groups come in row-major order of the kept
// axes (the order of the reduced output), elements of a group in row-major order of the reduced
// axes. A zero-size kept axis gives no groups; a zero-size reduced axis gives empty groups.
struct ReduceOffsets {
  std::vector<int64_t> outer;
  std::vector<int64_t> inner;
};
ReduceOffsets reduce_offsets(std::span<const int64_t> dims, const std::vector<bool>& reduced);

// The mask over `rank` axes of the (possibly negative) axes in `axes`; an Error naming the node
// if one is out of range or repeated.
std::vector<bool> axes_mask(const KernelContext& ctx, std::span<const int64_t> axes, int64_t rank);

// Element conversions through float for the 16-bit float types.
template <class T>
constexpr bool is_half_v = std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// The type kernels compute T's arithmetic in: float for 16-bit floats, T otherwise.
template <class T>
using compute_t = std::conditional_t<is_half_v<T>, float, T>;

template <class T>
compute_t<T> widen(T v) {
  return compute_t<T>(v);
}
template <class T>
T narrow(compute_t<T> v) {
  return T(v);
}

// The type sums and products of T accumulate in: compute_t<T> for floats, 64-bit integers for
// integers (converted back with to_element, they wrap as T's own arithmetic would).
template <class T>
using accum_t = std::conditional_t<
    std::is_integral_v<T> && !std::is_same_v<T, bool>,
    std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>, compute_t<T>>;

// Signed integer arithmetic that wraps in two's complement, as numpy's fixed-width integers do,
// where C++ would overflow (undefined behavior): -INT_MIN is INT_MIN. Other types as usual.
template <class T, bool = std::is_integral_v<T> && !std::is_same_v<T, bool>>
struct wrapping {
  using type = T;
};
template <class T>
struct wrapping<T, true> {
  using type = std::common_type_t<unsigned, std::make_unsigned_t<T>>;
};
template <class T>
using wrapping_t = typename wrapping<T>::type;
template <class T>
T wrapping_neg(T x) {
  if constexpr (std::is_same_v<wrapping_t<T>, T>) return T(-x);  // floats: -0.0 stays signed
  else return T(wrapping_t<T>(0) - wrapping_t<T>(x));
}
template <class T>
T wrapping_add(T a, T b) {
  return T(wrapping_t<T>(a) + wrapping_t<T>(b));
}
template <class T>
T wrapping_mul(T a, T b) {
  return T(wrapping_t<T>(a) * wrapping_t<T>(b));
}

// Converts a value of any arithmetic type (an accumulator, say) to element type T, through
// float for the 16-bit floats. Integers wrap as C++ conversions do.
template <class T, class V>
T to_element(V v) {
  if constexpr (is_half_v<T>) return T(float(v));
  else return T(v);
}

// Reads an optional scalar input (any numeric dtype) as double, or `dflt` if absent.
double scalar_input(const KernelContext& ctx, size_t i, double dflt);

// Calls f(T{}) for every float dtype (f16, bf16, f32, f64); an Error naming the node otherwise.
template <class F>
decltype(auto) visit_float(const KernelContext& ctx, DType t, F&& f) {
  switch (t) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::F16: return f(Float16{});
    case DType::BF16: return f(BFloat16{});
    default: ctx.fail("element type ", dtype_name(t), " is not supported (needs a float type)");
  }
}

}  // namespace eave::ref

namespace eave::ref {

// Calls f(idx) for every multi-index of `dims` in row-major order (idx is a std::vector<int64_t>
// that the callee must not keep).
template <class F>
void for_each_index(std::span<const int64_t> dims, F&& f) {
  int64_t n = shape_numel(dims);
  std::vector<int64_t> idx(dims.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(static_cast<const std::vector<int64_t>&>(idx));
    for (size_t d = dims.size(); d-- > 0;) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

// A new tensor of src's dtype and `dims` whose element i is src's element from(i) (a flat,
// row-major index). Works for every dtype, strings included: the copy loop of the data-movement
// kernels, which differ only in where each output element comes from.
template <class F>
Tensor gather_flat(const Tensor& src, std::vector<int64_t> dims, F&& from) {
  Tensor out(src.dtype(), std::move(dims));
  int64_t n = out.numel();
  if (src.dtype() == DType::String) {
    for (int64_t i = 0; i < n; ++i)
      out.mutable_strings()[size_t(i)] = src.strings()[size_t(from(i))];
    return out;
  }
  auto copy = [&](auto word) {
    using W = decltype(word);
    const W* s = static_cast<const W*>(src.raw());
    W* d = static_cast<W*>(out.mutable_raw());
    for (int64_t i = 0; i < n; ++i) d[i] = s[from(i)];
  };
  switch (dtype_size(src.dtype())) {
    case 1: copy(uint8_t{}); break;
    case 2: copy(uint16_t{}); break;
    case 4: copy(uint32_t{}); break;
    case 8: copy(uint64_t{}); break;
    case 16: copy(std::array<uint64_t, 2>{}); break;  // complex128
    default: internal_fail("gather_flat: unsupported element size for ", dtype_name(src.dtype()));
  }
  return out;
}

// Copies element `src_i` of src over element `dst_i` of dst (same dtype, strings included).
void assign_element(Tensor& dst, int64_t dst_i, const Tensor& src, int64_t src_i);

// Integer input i (any integer dtype, rank 0 or 1) as a list, or nullopt if absent.
std::optional<std::vector<int64_t>> int_list_input(const KernelContext& ctx, size_t i);

// Normalizes possibly negative axes into [0, rank); an Error naming the node on an axis out of
// range or given twice.
std::vector<int64_t> normalize_axis_list(const KernelContext& ctx, std::vector<int64_t> axes,
                                         int64_t rank);
// Copies `count` elements of src starting at `src_at` into dst starting at `dst_at`. Both must
// have the same dtype (strings included); dst must own writable storage.
void copy_elements(const Tensor& src, int64_t src_at, Tensor& dst, int64_t dst_at, int64_t count);

// A fresh tensor holding x restricted to [start, start + len) along `axis` (keeps the axis).
Tensor slice_axis(const Tensor& x, int64_t axis, int64_t start, int64_t len);

// Joins tensors along an existing `axis`; every other dim and the dtype must agree (an Error
// naming the node otherwise). `parts` must not be empty.
Tensor concat_axis(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis);

// x with the size-1 dimension `axis` removed, or a new size-1 dimension inserted before `axis`
// (shares storage).
Tensor squeeze_axis(const Tensor& x, int64_t axis);
Tensor unsqueeze_axis(const Tensor& x, int64_t axis);

}  // namespace eave::ref
