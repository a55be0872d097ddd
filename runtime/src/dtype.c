#include "eave/runtime.h"

size_t eave_dtype_size(eave_dtype dtype) {
  switch (dtype) {
    case EAVE_DTYPE_F64:
    case EAVE_DTYPE_I64:
    case EAVE_DTYPE_U64: return 8;
    case EAVE_DTYPE_STRING: return sizeof(const char*);
    case EAVE_DTYPE_F32:
    case EAVE_DTYPE_I32:
    case EAVE_DTYPE_U32: return 4;
    case EAVE_DTYPE_F16:
    case EAVE_DTYPE_BF16:
    case EAVE_DTYPE_I16:
    case EAVE_DTYPE_U16: return 2;
    case EAVE_DTYPE_I8:
    case EAVE_DTYPE_U8:
    case EAVE_DTYPE_BOOL: return 1;
    case EAVE_DTYPE_UNDEFINED: break;
  }
  return 0;
}

const char* eave_dtype_name(eave_dtype dtype) {
  static const char* const names[] = {"undefined", "f32", "f16", "bf16", "f64", "i8",  "u8",
                                      "i16",       "u16", "i32", "u32",  "i64", "u64", "bool", "string"};
  return (unsigned)dtype < sizeof names / sizeof names[0] ? names[dtype] : "?";
}
