/* Hand-written kernels standing in for generated code in the runtime tests. Built with
 * clang-22 -ffreestanding -O2 -fPIC for each target and linked with
 * `ld.lld -shared -Bsymbolic --hash-style=sysv`, exactly as the compiler links CODE.
 * Without -mf16c the half conversions become calls to __extendhfsf2 / __truncsfhf2, which
 * exercises the runtime's import table. The indices below are what the tests' KERNEL steps
 * name (tests/runtime/test_models.h). */
#include "runtime/src/artifact_format.h"

float expf(float);

#define ROW 16 /* the tests' rows are 16 floats wide */

/* y[r, :] = exp(a[r, :]) + b[:], one tile per row. buffers: a, b, y. */
static void add_exp_rows(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* a = buf[0];
  const float* b = buf[1];
  float* y = buf[2];
  for (int64_t r = t0; r < t1; ++r)
    for (int c = 0; c < ROW; ++c) y[r * ROW + c] = expf(a[r * ROW + c]) + b[c];
}

/* y[i] = 2 * x[i], one tile per element. */
static void scale2(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* x = buf[0];
  float* y = buf[1];
  for (int64_t i = t0; i < t1; ++i) y[i] = 2.0f * x[i];
}

/* y[i] = -x[i], one tile per element. */
static void negate(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* x = buf[0];
  float* y = buf[1];
  for (int64_t i = t0; i < t1; ++i) y[i] = -x[i];
}

/* f32 -> f16 -> f32 round trip, one tile per element: y[i] = (float)(_Float16)x[i]. */
static void round_to_half(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* x = buf[0];
  float* y = buf[1];
  volatile _Float16 h; /* keeps the two conversions apart */
  for (int64_t i = t0; i < t1; ++i) {
    h = (_Float16)x[i];
    y[i] = (float)h;
  }
}

/* y[i] = x[i] + syms[0]: reads the session's symbol table (symbol 0 is the batch). */
static void add_symbol0(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* x = buf[0];
  float* y = buf[1];
  for (int64_t i = t0; i < t1; ++i) y[i] = x[i] + (float)syms[0];
}

/* y[i] = a[i] + b[i], one tile per element. buffers: a, b, y. */
static void add(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  const float* a = buf[0];
  const float* b = buf[1];
  float* y = buf[2];
  for (int64_t i = t0; i < t1; ++i) y[i] = a[i] + b[i];
}

const eave_kernel_table eave_kernels = {
    EAVE_KERNEL_TABLE_MAGIC,
    EAVE_KERNEL_ABI_VERSION,
    6,
    0,
    {add_exp_rows, scale2, negate, round_to_half, add_symbol0, add}};
