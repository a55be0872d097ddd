// Element types of tensors. The numbering is eave's own; ONNX's TensorProto codes are converted
// at the importer boundary (dtype_from_onnx / dtype_to_onnx).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "support/half.h"

namespace eave {

enum class DType : uint8_t {
  Undefined,
  F32,
  F16,
  BF16,
  F64,
  I8,
  U8,
  I16,
  U16,
  I32,
  U32,
  I64,
  U64,
  Bool,
  String,
  Complex64,
  Complex128,
};

// Bytes per element; strings report sizeof(std::string) and never live in raw buffers.
size_t dtype_size(DType t);
// Short name used by the printer and error messages: f32, i64, bool, string.
const char* dtype_name(DType t);
// Parses dtype_name()'s spelling (and numpy's: float32, int64, ...); Undefined if unknown.
DType dtype_from_name(const std::string& name);
bool is_float(DType t);    // f16, bf16, f32, f64
bool is_integer(DType t);  // signed or unsigned integers, not bool
bool is_signed(DType t);   // signed integers and floats
DType dtype_from_onnx(int32_t onnx_elem_type);  // Undefined for codes eave does not know
int32_t dtype_to_onnx(DType t);

// Maps C++ element types to DType, for typed tensor access.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::F32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::F64; };
template <> struct DTypeOf<Float16> { static constexpr DType value = DType::F16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::BF16; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::I8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::U8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::I16; };
template <> struct DTypeOf<uint16_t> { static constexpr DType value = DType::U16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::I32; };
template <> struct DTypeOf<uint32_t> { static constexpr DType value = DType::U32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::I64; };
template <> struct DTypeOf<uint64_t> { static constexpr DType value = DType::U64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<std::string> { static constexpr DType value = DType::String; };

// Calls f(T{}) with T the C++ type of `t` for every numeric dtype and bool; returns f's result.
// Fails with an Error naming `what` for string, complex and undefined.
#define EAVE_DTYPE_CASE(DT, T) \
  case DType::DT:              \
    return f(T{});
template <class F>
decltype(auto) visit_dtype(DType t, F&& f, const char* what = "tensor");
void fail_unsupported_dtype(DType t, const char* what);

template <class F>
decltype(auto) visit_dtype(DType t, F&& f, const char* what) {
  switch (t) {
    EAVE_DTYPE_CASE(F32, float)
    EAVE_DTYPE_CASE(F64, double)
    EAVE_DTYPE_CASE(F16, Float16)
    EAVE_DTYPE_CASE(BF16, BFloat16)
    EAVE_DTYPE_CASE(I8, int8_t)
    EAVE_DTYPE_CASE(U8, uint8_t)
    EAVE_DTYPE_CASE(I16, int16_t)
    EAVE_DTYPE_CASE(U16, uint16_t)
    EAVE_DTYPE_CASE(I32, int32_t)
    EAVE_DTYPE_CASE(U32, uint32_t)
    EAVE_DTYPE_CASE(I64, int64_t)
    EAVE_DTYPE_CASE(U64, uint64_t)
    EAVE_DTYPE_CASE(Bool, bool)
    default:
      break;
  }
  fail_unsupported_dtype(t, what);
  return f(float{});  // unreachable
}
#undef EAVE_DTYPE_CASE

}  // namespace eave
