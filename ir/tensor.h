// A dense tensor value: element type, concrete dims and row-major contiguous data. Used for
// initializers and constants in the IR and for every value the reference interpreter computes.
// Storage is shared and may be a memory-mapped region (external weights), so copying a Tensor is
// cheap and never copies data; mutable_data() asserts the storage is not shared read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ir/dtype.h"
#include "support/error.h"

namespace eave {

// A block of bytes: owned heap memory or a view into memory someone else keeps alive.
class Storage {
 public:
  virtual ~Storage() = default;
  virtual uint8_t* data() = 0;
  virtual size_t size() const = 0;
  virtual bool writable() const { return true; }
};

class HeapStorage final : public Storage {
 public:
  explicit HeapStorage(size_t n);
  uint8_t* data() override { return bytes_.get(); }
  size_t size() const override { return size_; }

 private:
  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t, FreeDeleter> bytes_;
  size_t size_;
};

// Borrowed read-only bytes kept alive by `owner` (for example a memory-mapped file).
class BorrowedStorage final : public Storage {
 public:
  BorrowedStorage(const uint8_t* p, size_t n, std::shared_ptr<void> owner)
      : p_(const_cast<uint8_t*>(p)), n_(n), owner_(std::move(owner)) {}
  uint8_t* data() override { return p_; }
  size_t size() const override { return n_; }
  bool writable() const override { return false; }

 private:
  uint8_t* p_;
  size_t n_;
  std::shared_ptr<void> owner_;
};

int64_t shape_numel(std::span<const int64_t> dims);
std::string dims_str(std::span<const int64_t> dims);  // "[1,3,224,224]"

class Tensor {
 public:
  Tensor() = default;
  // Zero-initialized tensor of the given type and dims.
  Tensor(DType dtype, std::vector<int64_t> dims);
  // Tensor over existing storage (no copy); `byte_offset` into it.
  Tensor(DType dtype, std::vector<int64_t> dims, std::shared_ptr<Storage> storage,
         size_t byte_offset = 0);

  template <class T>
  static Tensor from_vector(std::vector<int64_t> dims, const std::vector<T>& values);
  template <class T>
  static Tensor scalar(T v) {
    return from_vector<T>({}, std::vector<T>{v});
  }

  bool defined() const { return dtype_ != DType::Undefined; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  int64_t dim(size_t i) const { return dims_[i]; }
  size_t rank() const { return dims_.size(); }
  int64_t numel() const { return shape_numel(dims_); }
  size_t nbytes() const { return dtype_ == DType::String ? 0 : size_t(numel()) * dtype_size(dtype_); }

  const void* raw() const;
  void* mutable_raw();
  template <class T>
  const T* data() const {
    check_type(DTypeOf<T>::value);
    return static_cast<const T*>(raw());
  }
  template <class T>
  T* mutable_data() {
    check_type(DTypeOf<T>::value);
    return static_cast<T*>(mutable_raw());
  }
  template <class T>
  std::span<const T> span() const {
    return {data<T>(), size_t(numel())};
  }
  template <class T>
  std::span<T> mutable_span() {
    return {mutable_data<T>(), size_t(numel())};
  }

  // String tensors keep their elements here; raw() is unused for them.
  const std::vector<std::string>& strings() const { return strings_; }
  std::vector<std::string>& mutable_strings() { return strings_; }

  // Element i converted to double / int64 (for shape-like tensors and small constants).
  double as_double(int64_t i) const;
  int64_t as_int(int64_t i) const;
  // All elements as int64 (for shape, axes and index operands).
  std::vector<int64_t> to_int_vector() const;

  // Same data, other dims (numel must match). Shares storage.
  Tensor reshaped(std::vector<int64_t> dims) const;
  // Deep copy with fresh, writable storage.
  Tensor clone() const;
  // Element-wise conversion to another dtype (numeric and bool; strings only to/from numbers).
  Tensor cast(DType to) const;

  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t byte_offset() const { return offset_; }

 private:
  void check_type(DType expected) const;

  DType dtype_ = DType::Undefined;
  std::vector<int64_t> dims_;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  std::vector<std::string> strings_;
};

template <class T>
Tensor Tensor::from_vector(std::vector<int64_t> dims, const std::vector<T>& values) {
  Tensor t(DTypeOf<T>::value, std::move(dims));
  EAVE_CHECK(int64_t(values.size()) == t.numel(), "tensor of ", dims_str(t.dims()), " needs ",
             t.numel(), " values, got ", values.size());
  if constexpr (std::is_same_v<T, std::string>) {
    t.strings_ = values;
  } else {
    T* p = t.mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  }
  return t;
}

}  // namespace eave
