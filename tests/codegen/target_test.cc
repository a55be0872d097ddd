#include "codegen/target.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/error.h"

namespace eave::codegen {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(Target, HostIsDetected) {
  TargetSpec host = host_target();
  EXPECT_FALSE(host.cpu.empty());
  EXPECT_FALSE(host.features.empty());
  EXPECT_NO_THROW(resolve_target(host));
}

TEST(Target, X86PresetsResolveCpuLevels) {
  auto v3 = required_features(preset_target("x86_64", "x86-64-v3"));
  EXPECT_TRUE(has(v3, "avx2") && has(v3, "fma"));
  EXPECT_FALSE(has(v3, "avx512f"));
  auto zen4 = required_features(preset_target("x86_64", "znver4"));
  EXPECT_TRUE(has(zen4, "avx512f") && has(zen4, "avx512bw") && has(zen4, "avx512vnni") &&
              has(zen4, "avx512bf16"));
  EXPECT_EQ(resolve_target(preset_target("x86_64", "znver4")).simd_bits, 512);
  EXPECT_EQ(resolve_target(preset_target("x86_64", "x86-64-v3")).simd_bits, 256);
}

TEST(Target, AArch64AndRiscV) {
  TargetSpec arm = preset_target("aarch64", "neoverse-n1");
  EXPECT_EQ(arm.arch(), Arch::aarch64);
  auto arm_features = required_features(arm);
  EXPECT_TRUE(has(arm_features, "neon") && has(arm_features, "dotprod"));
  TargetSpec rv = preset_target("riscv64");
  EXPECT_EQ(rv.abi, "lp64d");
  auto rv_features = required_features(rv);
  for (const char* f : {"m", "a", "f", "d", "c", "v"}) EXPECT_TRUE(has(rv_features, f)) << f;
  EXPECT_EQ(resolve_target(rv).simd_bits, 128);
}

TEST(Target, ErrorsNameTheCulprit) {
  try {
    preset_target("x86_64", "pentium9000");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pentium9000"), std::string::npos) << e.what();
  }
  EXPECT_THROW(preset_target("mips"), Error);
  TargetSpec bad = preset_target("x86_64");
  bad.features = "+avx9000";
  try {
    resolve_target(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("avx9000"), std::string::npos) << e.what();
  }
  TargetSpec ppc{"powerpc64le-unknown-linux-gnu", "", "", ""};
  EXPECT_THROW(ppc.arch(), Error);
}

}  // namespace
}  // namespace eave::codegen
