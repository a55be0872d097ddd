// What native code is generated for: an LLVM target triple, a CPU name and a feature string,
// plus the facts the code generators choose register tiles and vector widths by. Resolving a
// spec asks LLVM's subtarget tables, so `-mcpu=znver4` and `+avx512f` mean exactly what they
// mean to clang. This header includes nothing from LLVM.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace eave::codegen {

enum class Arch { x86_64, aarch64, riscv64 };

struct TargetSpec {
  std::string triple;    // "x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu", ...
  std::string cpu;       // LLVM CPU name: "znver4", "x86-64-v3", "neoverse-n1", "generic-rv64"
  std::string features;  // LLVM feature string applied on top of the CPU's: "+avx512f,-avx512fp16"
  std::string abi;       // ABI name where an architecture has several ("lp64d"); else empty

  Arch arch() const;  // throws Error for a triple eave does not generate code for
  std::string describe() const;
};

// The machine the compiler runs on: sys::getHostCPUName / getHostCPUFeatures.
TargetSpec host_target();

// A named preset: `arch` is "x86_64", "aarch64" or "riscv64" ("host" gives host_target());
// `cpu` overrides the preset's CPU (x86_64: "x86-64-v3", "znver4", ...; aarch64: "generic",
// "neoverse-n1", ...; riscv64: "generic-rv64", ...). Defaults: x86-64-v3, generic + neon, and
// rv64gcv (generic-rv64 with +m,+a,+f,+d,+c,+v, ABI lp64d). Throws Error naming a bad arch/CPU.
TargetSpec preset_target(std::string_view arch, std::string_view cpu = {});

// Facts resolved from the CPU name and feature string (implied features included).
struct TargetInfo {
  Arch arch;
  int simd_bits = 0;         // widest f32 vector register: 512 (avx512f), 256 (avx), 128 (sse, neon, v)
  int vector_registers = 0;  // architectural vector registers: 32 (avx512, neon, v), 16 (avx, sse)
  bool has_fma = false;      // fused multiply-add in vector registers
  // Every feature of the runtime-checkable set (see required_features) that the code may use.
  std::vector<std::string> features;

  int f32_lanes() const { return simd_bits / 32; }
};

// Throws Error naming the triple, CPU or feature LLVM does not know.
TargetInfo resolve_target(const TargetSpec& target);

// The CPU features code compiled for `target` may use, as recorded in the artifact's TARGET
// section for the loader to check ("avx2", "fma", "avx512f", ...; "neon", "dotprod"; "v").
// Conservative: every checkable feature the CPU and feature string enable.
std::vector<std::string> required_features(const TargetSpec& target);

}  // namespace eave::codegen
