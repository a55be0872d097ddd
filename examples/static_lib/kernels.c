/* Stands in for the compiler's `model.o` of a static-lib build: the generated kernels and
 * their table, linked into the firmware image like any other object. */
#include "runtime/src/artifact_format.h"

/* y[i] = x[i] * x[i] + 1, one tile per element. */
static void square_plus_one(void* const* buffers, const int64_t* syms, int64_t begin, int64_t end) {
  const float* x = buffers[0];
  float* y = buffers[1];
  for (int64_t i = begin; i < end; ++i) y[i] = x[i] * x[i] + 1.0f;
}

const eave_kernel_table hello_kernels = {
    EAVE_KERNEL_TABLE_MAGIC, EAVE_KERNEL_ABI_VERSION, 1, 0, {square_plus_one}};
