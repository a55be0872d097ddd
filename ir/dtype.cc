#include "ir/dtype.h"

#include "support/error.h"

namespace eave {

namespace {

struct DTypeInfo {
  DType type;
  const char* name;
  const char* numpy_name;
  size_t size;
  int32_t onnx;
};

// ONNX TensorProto.DataType codes.
constexpr DTypeInfo kInfo[] = {
    {DType::Undefined, "undefined", "", 0, 0},
    {DType::F32, "f32", "float32", 4, 1},
    {DType::F16, "f16", "float16", 2, 10},
    {DType::BF16, "bf16", "bfloat16", 2, 16},
    {DType::F64, "f64", "float64", 8, 11},
    {DType::I8, "i8", "int8", 1, 3},
    {DType::U8, "u8", "uint8", 1, 2},
    {DType::I16, "i16", "int16", 2, 5},
    {DType::U16, "u16", "uint16", 2, 4},
    {DType::I32, "i32", "int32", 4, 6},
    {DType::U32, "u32", "uint32", 4, 12},
    {DType::I64, "i64", "int64", 8, 7},
    {DType::U64, "u64", "uint64", 8, 13},
    {DType::Bool, "bool", "bool", 1, 9},
    {DType::String, "string", "str", sizeof(std::string), 8},
    {DType::Complex64, "complex64", "complex64", 8, 14},
    {DType::Complex128, "complex128", "complex128", 16, 15},
};

const DTypeInfo& info(DType t) {
  size_t i = static_cast<size_t>(t);
  EAVE_ASSERT(i < std::size(kInfo) && kInfo[i].type == t);
  return kInfo[i];
}

}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
const char* dtype_name(DType t) { return info(t).name; }

DType dtype_from_name(const std::string& name) {
  for (const auto& i : kInfo)
    if (name == i.name || name == i.numpy_name) return i.type;
  if (name == "float") return DType::F32;
  if (name == "double") return DType::F64;
  return DType::Undefined;
}

bool is_float(DType t) {
  return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::F64;
}

bool is_integer(DType t) {
  switch (t) {
    case DType::I8: case DType::U8: case DType::I16: case DType::U16:
    case DType::I32: case DType::U32: case DType::I64: case DType::U64:
      return true;
    default:
      return false;
  }
}

bool is_signed(DType t) {
  return is_float(t) || t == DType::I8 || t == DType::I16 || t == DType::I32 || t == DType::I64;
}

DType dtype_from_onnx(int32_t code) {
  for (const auto& i : kInfo)
    if (i.onnx == code && i.type != DType::Undefined) return i.type;
  return DType::Undefined;
}

int32_t dtype_to_onnx(DType t) { return info(t).onnx; }

void fail_unsupported_dtype(DType t, const char* what) {
  fail(what, ": element type ", dtype_name(t), " is not supported here");
}

}  // namespace eave
