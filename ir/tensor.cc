#include "ir/tensor.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace eave {

HeapStorage::HeapStorage(size_t n) : size_(n) {
  // 64-byte alignment suits every vector width eave targets.
  size_t rounded = (n + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, rounded ? rounded : 64);
  bytes_.reset(static_cast<uint8_t*>(p));
}

void HeapStorage::FreeDeleter::operator()(uint8_t* p) const { std::free(p); }

int64_t shape_numel(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) {
    EAVE_CHECK(d >= 0, "negative dimension ", d, " in shape ", dims_str(dims));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape ", dims_str(dims), " has more elements than fit in 64 bits");
    n *= d;
  }
  return n;
}

std::string dims_str(std::span<const int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims) : dtype_(dtype), dims_(std::move(dims)) {
  int64_t n = shape_numel(dims_);
  if (dtype_ == DType::String) {
    strings_.resize(size_t(n));
  } else {
    storage_ = std::make_shared<HeapStorage>(size_t(n) * dtype_size(dtype_));
  }
}

Tensor::Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Storage> storage,
               size_t byte_offset)
    : dtype_(dtype), dims_(std::move(dims)), storage_(std::move(storage)), offset_(byte_offset) {
  EAVE_ASSERT(dtype_ != DType::String);
  EAVE_ASSERT(storage_ && offset_ + nbytes() <= storage_->size());
}

const void* Tensor::raw() const {
  if (!storage_) return nullptr;
  return storage_->data() + offset_;
}

void* Tensor::mutable_raw() {
  if (!storage_) return nullptr;
  EAVE_ASSERT(storage_->writable());
  return storage_->data() + offset_;
}

void Tensor::check_type(DType expected) const {
  if (dtype_ != expected)
    internal_fail("tensor accessed as ", dtype_name(expected), " but holds ", dtype_name(dtype_));
}

double Tensor::as_double(int64_t i) const {
  EAVE_ASSERT(i >= 0 && i < numel());
  return visit_dtype(dtype_, [&](auto t) -> double {
    using T = decltype(t);
    return double(static_cast<const T*>(raw())[i]);
  });
}

int64_t Tensor::as_int(int64_t i) const {
  EAVE_ASSERT(i >= 0 && i < numel());
  return visit_dtype(dtype_, [&](auto t) -> int64_t {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>)
      return int64_t(float(static_cast<const T*>(raw())[i]));
    else
      return int64_t(static_cast<const T*>(raw())[i]);
  });
}

std::vector<int64_t> Tensor::to_int_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  for (int64_t i = 0; i < numel(); ++i) v[size_t(i)] = as_int(i);
  return v;
}

Tensor Tensor::reshaped(std::vector<int64_t> dims) const {
  EAVE_CHECK(shape_numel(dims) == numel(), "cannot reshape ", dims_str(dims_), " to ",
             dims_str(dims));
  Tensor t = *this;
  t.dims_ = std::move(dims);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, dims_);
  if (dtype_ == DType::String)
    t.strings_ = strings_;
  else if (nbytes())
    std::memcpy(t.mutable_raw(), raw(), nbytes());
  return t;
}

namespace {

template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return float(v) != 0.0f || (!std::is_floating_point_v<From> && v != From{});
  } else if constexpr (std::is_same_v<To, Float16> || std::is_same_v<To, BFloat16>) {
    return To(float(v));
  } else if constexpr (std::is_same_v<From, Float16> || std::is_same_v<From, BFloat16>) {
    return convert<To>(float(v));
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // ONNX leaves out-of-range float to int casts undefined; saturate NaN to 0 rather than
    // invoking C++ undefined behaviour.
    if (!(v == v)) return To{};
    constexpr double lo = double(std::numeric_limits<To>::lowest());
    constexpr double hi = double(std::numeric_limits<To>::max());
    double d = double(v);
    if (d <= lo) return std::numeric_limits<To>::lowest();
    if (d >= hi) return std::numeric_limits<To>::max();
    return To(d);
  } else {
    return To(v);
  }
}

}  // namespace

Tensor Tensor::cast(DType to) const {
  if (to == dtype_) return clone();
  Tensor out(to, dims_);
  int64_t n = numel();
  if (to == DType::String) {
    visit_dtype(dtype_, [&](auto s) {
      using S = decltype(s);
      const S* src = static_cast<const S*>(raw());
      for (int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<S, bool>) {
          out.strings_[size_t(i)] = src[i] ? "1" : "0";
        } else if constexpr (std::is_integral_v<S>) {
          out.strings_[size_t(i)] = std::to_string(src[i]);
        } else {
          // The shortest text that reads back as the same value, as NumPy prints it.
          char buf[64];
          std::to_chars_result r;
          if constexpr (std::is_same_v<S, double>) r = std::to_chars(buf, buf + sizeof buf, src[i]);
          else r = std::to_chars(buf, buf + sizeof buf, float(src[i]));
          out.strings_[size_t(i)] = std::string(buf, r.ptr);
        }
      }
      return 0;
    });
    return out;
  }
  if (dtype_ == DType::String) {
    visit_dtype(to, [&](auto d) {
      using D = decltype(d);
      D* dst = out.mutable_data<D>();
      for (int64_t i = 0; i < n; ++i) {
        const std::string& s = strings_[size_t(i)];
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        EAVE_CHECK(end && end != s.c_str(), "cannot convert string '", s, "' to ",
                   dtype_name(to));
        dst[i] = convert<D>(v);
      }
      return 0;
    });
    return out;
  }
  visit_dtype(dtype_, [&](auto s) {
    using S = decltype(s);
    const S* src = static_cast<const S*>(raw());
    visit_dtype(to, [&](auto d) {
      using D = decltype(d);
      D* dst = out.mutable_data<D>();
      for (int64_t i = 0; i < n; ++i) dst[i] = convert<D>(src[i]);
      return 0;
    });
    return 0;
  });
  return out;
}

}  // namespace eave
