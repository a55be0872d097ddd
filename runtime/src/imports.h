/* The symbols generated code may import: memcpy and friends, libm, and the half/bfloat16
 * conversion helpers LLVM calls when the CPU has no instruction for them. Anything else is a
 * load error that names the symbol. */
#ifndef EAVE_IMPORTS_H_
#define EAVE_IMPORTS_H_

#include <stdint.h>

/* The address of import `name`, or NULL if the runtime does not provide it. */
void* eave_import_find(const char* name);

/* Conversions between float and the 16-bit float types (round to nearest even), for builtins. */
float eave_f16_to_f32(uint16_t h);
uint16_t eave_f32_to_f16(float f);
float eave_bf16_to_f32(uint16_t b);
uint16_t eave_f32_to_bf16(float f);

#endif /* EAVE_IMPORTS_H_ */
