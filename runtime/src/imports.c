#define _GNU_SOURCE /* roundeven in glibc's math.h */
#include "imports.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Half and bfloat16 conversions. LLVM passes and returns half and bfloat16 in a floating-point
 * register on all three targets (x86-64 xmm0, AArch64 h0/s0, RISC-V fa0 NaN-boxed), in the low
 * 16 bits. A float parameter or result sits in the same register, so these take and give a
 * float whose low 16 bits are the value: no compiler support for _Float16 is needed. */

static uint16_t low16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return (uint16_t)u;
}

static float boxed16(uint16_t h) {
  uint32_t u = 0xffff0000u | h; /* NaN-boxed, as RISC-V expects */
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static float f32_from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static float eave_extendhfsf2(float boxed) {
  uint32_t h = low16(boxed);
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) { /* zero or subnormal: mant * 2^-24 is exact in float */
    float v = (float)mant * 0x1p-24f;
    return sign ? -v : v;
  }
  return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Rounds the float bits to half with round-to-nearest-even. */
static uint16_t half_from_f32_bits(uint32_t x) {
  uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000u;
    uint32_t shift = (uint32_t)(14 - e), h = mant >> shift, rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | ((uint32_t)e << 10) | (mant >> 13), rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h; /* a carry into the exponent is right */
  return (uint16_t)h;
}

static float eave_truncsfhf2(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  return boxed16(half_from_f32_bits(x));
}

/* double -> half through float would round twice; keep the dropped bits as a sticky bit. */
static float eave_truncdfhf2(double d) {
  float f = (float)d;
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((double)f != d && (x & 0x7f800000u) != 0x7f800000u) x |= 1; /* sticky */
  return boxed16(half_from_f32_bits(x));
}

static float eave_truncsfbf2(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return boxed16((uint16_t)((x >> 16) | 0x40)); /* quiet NaN */
  x += 0x7fffu + ((x >> 16) & 1);
  return boxed16((uint16_t)(x >> 16));
}

float eave_f16_to_f32(uint16_t h) { return eave_extendhfsf2(boxed16(h)); }
uint16_t eave_f32_to_f16(float f) { return low16(eave_truncsfhf2(f)); }
float eave_bf16_to_f32(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }
uint16_t eave_f32_to_bf16(float f) { return low16(eave_truncsfbf2(f)); }

typedef struct import_entry {
  const char* name;
  void* address;
} import_entry;

/* clang-format off */
#define FN(f) {#f, (void*)&f}
#define FN_F_D(name) FN(name##f), FN(name)

/* Unsorted: about 90 entries, searched once per import at load. */
static const import_entry imports[] = {
    FN(memcpy), FN(memmove), FN(memset),
    {"__extendhfsf2", (void*)&eave_extendhfsf2},
    {"__truncsfhf2", (void*)&eave_truncsfhf2},
    {"__truncdfhf2", (void*)&eave_truncdfhf2},
    {"__truncsfbf2", (void*)&eave_truncsfbf2},
    FN_F_D(exp), FN_F_D(exp2), FN_F_D(expm1), FN_F_D(log), FN_F_D(log2), FN_F_D(log10),
    FN_F_D(log1p), FN_F_D(pow), FN_F_D(sqrt), FN_F_D(cbrt), FN_F_D(sin), FN_F_D(cos),
    FN_F_D(tan), FN_F_D(asin), FN_F_D(acos), FN_F_D(atan), FN_F_D(atan2), FN_F_D(sinh),
    FN_F_D(cosh), FN_F_D(tanh), FN_F_D(asinh), FN_F_D(acosh), FN_F_D(atanh), FN_F_D(erf),
    FN_F_D(erfc), FN_F_D(fmod), FN_F_D(remainder), FN_F_D(fma), FN_F_D(floor), FN_F_D(ceil),
    FN_F_D(round), FN_F_D(trunc), FN_F_D(rint), FN_F_D(nearbyint),
    FN_F_D(fabs), FN_F_D(fmin), FN_F_D(fmax), FN_F_D(copysign), FN_F_D(ldexp), FN_F_D(frexp),
    FN_F_D(hypot),
#if defined(__GLIBC__)
    FN_F_D(roundeven),
#endif
};
/* clang-format on */

void* eave_import_find(const char* name) {
  for (size_t i = 0; i < sizeof imports / sizeof imports[0]; ++i)
    if (strcmp(imports[i].name, name) == 0) return imports[i].address;
  return NULL;
}
