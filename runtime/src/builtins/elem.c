#include "elem.h"

#include <math.h>
#include <string.h>

#include "../imports.h"

uint64_t eave_numel(uint32_t rank, const int64_t* dims) {
  uint64_t n = 1;
  for (uint32_t d = 0; d < rank; ++d) n *= (uint64_t)dims[d];
  return n;
}

int eave_dtype_is_float(eave_dtype t) {
  return t == EAVE_DTYPE_F32 || t == EAVE_DTYPE_F64 || t == EAVE_DTYPE_F16 || t == EAVE_DTYPE_BF16;
}

int eave_dtype_is_signed_int(eave_dtype t) {
  return t == EAVE_DTYPE_I8 || t == EAVE_DTYPE_I16 || t == EAVE_DTYPE_I32 || t == EAVE_DTYPE_I64;
}

#define LOAD(T)                                          \
  do {                                                   \
    T x;                                                 \
    memcpy(&x, (const uint8_t*)base + i * sizeof(T), sizeof(T)); \
    return x;                                            \
  } while (0)

double eave_elem_f64(eave_dtype t, const void* base, uint64_t i) {
  switch (t) {
    case EAVE_DTYPE_F32: LOAD(float);
    case EAVE_DTYPE_F64: LOAD(double);
    case EAVE_DTYPE_F16: {
      uint16_t h;
      memcpy(&h, (const uint8_t*)base + i * 2, 2);
      return eave_f16_to_f32(h);
    }
    case EAVE_DTYPE_BF16: {
      uint16_t h;
      memcpy(&h, (const uint8_t*)base + i * 2, 2);
      return eave_bf16_to_f32(h);
    }
    case EAVE_DTYPE_U64: LOAD(uint64_t);
    default: return (double)eave_elem_i64(t, base, i);
  }
}

int64_t eave_elem_i64(eave_dtype t, const void* base, uint64_t i) {
  switch (t) {
    case EAVE_DTYPE_I8: LOAD(int8_t);
    case EAVE_DTYPE_U8: LOAD(uint8_t);
    case EAVE_DTYPE_I16: LOAD(int16_t);
    case EAVE_DTYPE_U16: LOAD(uint16_t);
    case EAVE_DTYPE_I32: LOAD(int32_t);
    case EAVE_DTYPE_U32: LOAD(uint32_t);
    case EAVE_DTYPE_I64: LOAD(int64_t);
    case EAVE_DTYPE_U64: LOAD(uint64_t);
    case EAVE_DTYPE_BOOL: {
      uint8_t b;
      memcpy(&b, (const uint8_t*)base + i, 1);
      return b != 0;
    }
    default: {
      double d = eave_elem_f64(t, base, i);
      if (d != d) return 0;
      if (d >= 9.2233720368547758e18) return INT64_MAX;
      if (d <= -9.2233720368547758e18) return INT64_MIN;
      return (int64_t)d;
    }
  }
}

#undef LOAD

#define STORE(T, v)                                                 \
  do {                                                              \
    T x = (T)(v);                                                   \
    memcpy((uint8_t*)base + i * sizeof(T), &x, sizeof(T));          \
    return;                                                         \
  } while (0)

/* Truncates toward zero and saturates to [lo, hi]; NaN gives 0. The comparisons are in double,
 * where INT64_MAX rounds up to 2^63: anything from 2^63 on saturates, anything below converts. */
static int64_t saturate(double v, int64_t lo, int64_t hi) {
  if (v != v) return 0;
  if (v <= (double)lo) return lo;
  if (v >= (double)hi) return hi;
  return (int64_t)v;
}

void eave_elem_set_f64(eave_dtype t, void* base, uint64_t i, double v) {
  switch (t) {
    case EAVE_DTYPE_F32: STORE(float, v);
    case EAVE_DTYPE_F64: STORE(double, v);
    case EAVE_DTYPE_F16: STORE(uint16_t, eave_f32_to_f16((float)v));
    case EAVE_DTYPE_BF16: STORE(uint16_t, eave_f32_to_bf16((float)v));
    case EAVE_DTYPE_I8: STORE(int8_t, saturate(v, INT8_MIN, INT8_MAX));
    case EAVE_DTYPE_U8: STORE(uint8_t, saturate(v, 0, UINT8_MAX));
    case EAVE_DTYPE_I16: STORE(int16_t, saturate(v, INT16_MIN, INT16_MAX));
    case EAVE_DTYPE_U16: STORE(uint16_t, saturate(v, 0, UINT16_MAX));
    case EAVE_DTYPE_I32: STORE(int32_t, saturate(v, INT32_MIN, INT32_MAX));
    case EAVE_DTYPE_U32: STORE(uint32_t, saturate(v, 0, UINT32_MAX));
    case EAVE_DTYPE_I64: STORE(int64_t, saturate(v, INT64_MIN, INT64_MAX));
    case EAVE_DTYPE_U64:
      STORE(uint64_t, v != v || v <= 0 ? 0 : v >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)v);
    case EAVE_DTYPE_BOOL: STORE(uint8_t, v != 0);
    default: return;
  }
}

void eave_elem_set_i64(eave_dtype t, void* base, uint64_t i, int64_t v) {
  switch (t) {
    case EAVE_DTYPE_I8: STORE(int8_t, v);
    case EAVE_DTYPE_U8: STORE(uint8_t, v);
    case EAVE_DTYPE_I16: STORE(int16_t, v);
    case EAVE_DTYPE_U16: STORE(uint16_t, v);
    case EAVE_DTYPE_I32: STORE(int32_t, v);
    case EAVE_DTYPE_U32: STORE(uint32_t, v);
    case EAVE_DTYPE_I64: STORE(int64_t, v);
    case EAVE_DTYPE_U64: STORE(uint64_t, v);
    case EAVE_DTYPE_BOOL: STORE(uint8_t, v != 0);
    default: eave_elem_set_f64(t, base, i, (double)v);
  }
}
