#include "cpu_features.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__linux__)
#include <sys/auxv.h>
#endif
#if defined(__riscv) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

typedef struct feature_desc {
  eave_arch arch;
  const char* name;
  int where;
  int bit;
} feature_desc;

/* Where a feature's bit lives (the `where` column of cpu_features.def). */
enum { L1_ECX, L1_EDX, L7_EBX, L7_ECX, L7_EDX, L7S1_EAX, LX1_ECX, HWCAP, HWCAP2, HWPROBE, WHERE_COUNT };

static const feature_desc features[EAVE_CPU_FEATURE_COUNT] = {
#define EAVE_CPU_FEATURE(arch, id, name, where, bit) {EAVE_ARCH_##arch, name, where, bit},
#include "cpu_features.def"
#undef EAVE_CPU_FEATURE
};

const char* eave_arch_name(uint32_t arch) {
  switch (arch) {
    case EAVE_ARCH_X86_64: return "x86-64";
    case EAVE_ARCH_AARCH64: return "aarch64";
    case EAVE_ARCH_RISCV64: return "riscv64";
  }
  return "unknown";
}

int eave_cpu_feature_find(eave_arch arch, const char* name) {
  for (int i = 0; i < EAVE_CPU_FEATURE_COUNT; ++i)
    if (features[i].arch == arch && strcmp(features[i].name, name) == 0) return i;
  return -1;
}

#if defined(__x86_64__)
static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* Fills words[where] with the CPUID registers; vector features the OS does not save state
 * for are cleared, since using them would fault. */
static void read_words(uint64_t words[WHERE_COUNT]) {
  unsigned a, b, c, d, max_leaf = __get_cpuid_max(0, NULL);
  if (max_leaf >= 1 && __get_cpuid(1, &a, &b, &c, &d)) words[L1_ECX] = c, words[L1_EDX] = d;
  if (max_leaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    words[L7_EBX] = b, words[L7_ECX] = c, words[L7_EDX] = d;
    if (a >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      words[L7S1_EAX] = a;
    }
  }
  if (__get_cpuid_max(0x80000000u, NULL) >= 0x80000001u &&
      __get_cpuid(0x80000001u, &a, &b, &c, &d))
    words[LX1_ECX] = c;
  int osxsave = (words[L1_ECX] >> 27) & 1;
  uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  if ((xcr0 & 0x6) != 0x6) { /* no YMM state: no AVX at all */
    words[L1_ECX] &= ~((1ull << 12) | (1ull << 28) | (1ull << 29));
    words[L7_EBX] = words[L7_ECX] = words[L7_EDX] = words[L7S1_EAX] = 0;
  } else if ((xcr0 & 0xe6) != 0xe6) { /* no ZMM/opmask state: no AVX-512 */
    words[L7_EBX] &= ~0xd0230000ull;  /* avx512 f, dq, ifma, cd, bw, vl */
    words[L7_ECX] &= ~0x5842ull;      /* avx512 vbmi, vbmi2, vnni, bitalg, vpopcntdq */
    words[L7_EDX] &= ~((1ull << 8) | (1ull << 23)); /* avx512vp2intersect, avx512fp16 */
    words[L7S1_EAX] &= ~(1ull << 5);                /* avx512bf16 */
  }
}
#else
static void read_words(uint64_t words[WHERE_COUNT]) {
#if defined(__linux__) && (defined(__aarch64__) || defined(__riscv))
  words[HWCAP] = getauxval(AT_HWCAP);
#if defined(__aarch64__)
  words[HWCAP2] = getauxval(AT_HWCAP2);
#endif
#if defined(__riscv) && defined(SYS_riscv_hwprobe)
  struct {
    int64_t key;
    uint64_t value;
  } probe = {4 /* IMA_EXT_0 */, 0};
  if (syscall(SYS_riscv_hwprobe, &probe, 1, 0, NULL, 0) == 0 && probe.key == 4)
    words[HWPROBE] = probe.value;
#endif
#else
  (void)words; /* no way to ask: only the baseline architecture */
#endif
}
#endif

void eave_cpu_detect(eave_cpu_info* out) {
  memset(out, 0, sizeof *out);
#if defined(__x86_64__)
  out->arch = EAVE_ARCH_X86_64;
#elif defined(__aarch64__)
  out->arch = EAVE_ARCH_AARCH64;
#elif defined(__riscv) && __riscv_xlen == 64
  out->arch = EAVE_ARCH_RISCV64;
#endif
  uint64_t words[WHERE_COUNT] = {0};
  read_words(words);
  for (int i = 0; i < EAVE_CPU_FEATURE_COUNT; ++i)
    out->has[i] =
        features[i].arch == out->arch && ((words[features[i].where] >> features[i].bit) & 1);
}
