/* Element access for builtins that work on any dtype: read an element as double or int64,
 * write one from double or int64 with ONNX's conversion rules (floats round to nearest even
 * into 16-bit floats; float to integer truncates toward zero and saturates, NaN gives 0;
 * anything nonzero is true). Slow and general on purpose: builtins are the fallback path. */
#ifndef EAVE_BUILTIN_ELEM_H_
#define EAVE_BUILTIN_ELEM_H_

#include <stdint.h>

#include "eave/runtime.h"

double eave_elem_f64(eave_dtype t, const void* base, uint64_t i);
int64_t eave_elem_i64(eave_dtype t, const void* base, uint64_t i);
void eave_elem_set_f64(eave_dtype t, void* base, uint64_t i, double v);
void eave_elem_set_i64(eave_dtype t, void* base, uint64_t i, int64_t v);
/* The product of `rank` dims (1 for a scalar). */
uint64_t eave_numel(uint32_t rank, const int64_t* dims);
/* 1 for f16, bf16, f32, f64. */
int eave_dtype_is_float(eave_dtype t);
/* 1 for the signed integer types. */
int eave_dtype_is_signed_int(eave_dtype t);

#endif /* EAVE_BUILTIN_ELEM_H_ */
