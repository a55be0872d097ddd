/* A kernel library that imports a symbol the runtime does not provide: loading it must fail
 * with a message naming the symbol. */
#include "runtime/src/artifact_format.h"

float eave_test_missing_import(float);

static void k(void* const* buf, const int64_t* syms, int64_t t0, int64_t t1) {
  float* y = buf[0];
  for (int64_t i = t0; i < t1; ++i) y[i] = eave_test_missing_import(y[i]);
}

const eave_kernel_table eave_kernels = {
    EAVE_KERNEL_TABLE_MAGIC, EAVE_KERNEL_ABI_VERSION, 1, 0, {k}};
