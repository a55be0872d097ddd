/* What the running CPU can do, for checking an artifact's TARGET section. */
#ifndef EAVE_CPU_FEATURES_H_
#define EAVE_CPU_FEATURES_H_

#include <stdint.h>

#include "artifact_format.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eave_cpu_feature {
#define EAVE_CPU_FEATURE(arch, id, name, where, bit) EAVE_CPU_##id,
#include "cpu_features.def"
#undef EAVE_CPU_FEATURE
  EAVE_CPU_FEATURE_COUNT
} eave_cpu_feature;

typedef struct eave_cpu_info {
  eave_arch arch; /* the architecture this runtime was built for; 0 if none we know */
  uint8_t has[EAVE_CPU_FEATURE_COUNT];
} eave_cpu_info;

/* Detects the running CPU's features (CPUID and XGETBV on x86-64, getauxval on Linux
 * aarch64 and riscv64). Features the OS does not enable (AVX state not saved) count as
 * missing. Cheap; thread-safe. */
void eave_cpu_detect(eave_cpu_info* out);

/* The feature called `name` on `arch`, or -1 if the runtime does not know it. */
int eave_cpu_feature_find(eave_arch arch, const char* name);

/* "x86-64", "aarch64", "riscv64"; "unknown" otherwise. */
const char* eave_arch_name(uint32_t arch);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_CPU_FEATURES_H_ */
