// The format-level pieces both sides link: the arena planner, the expression bytecode, the
// checksum; plus the writer's own diagnostics and the CPU feature table.
#include <cstring>

#include "ir/dtype.h"
#include "runtime/src/artifact_format.h"
#include "runtime/src/cpu_features.h"
#include "runtime/src/expr.h"
#include "runtime/src/planner.h"
#include "support/error.h"
#include "tests/runtime/runtime_test_util.h"

namespace eave::testing {
namespace {

using namespace artifact;

// The artifact stores eave_dtype; the compiler converts from DType by value.
static_assert(int(DType::F32) == EAVE_DTYPE_F32 && int(DType::F16) == EAVE_DTYPE_F16 &&
              int(DType::BF16) == EAVE_DTYPE_BF16 && int(DType::F64) == EAVE_DTYPE_F64 &&
              int(DType::I8) == EAVE_DTYPE_I8 && int(DType::U8) == EAVE_DTYPE_U8 &&
              int(DType::I16) == EAVE_DTYPE_I16 && int(DType::U16) == EAVE_DTYPE_U16 &&
              int(DType::I32) == EAVE_DTYPE_I32 && int(DType::U32) == EAVE_DTYPE_U32 &&
              int(DType::I64) == EAVE_DTYPE_I64 && int(DType::U64) == EAVE_DTYPE_U64 &&
              int(DType::Bool) == EAVE_DTYPE_BOOL);

uint64_t plan(std::vector<eave_plan_item>& items) {
  std::vector<uint32_t> scratch(2 * items.size());
  uint64_t size = 0;
  EXPECT_EQ(eave_plan_arena(items.data(), uint32_t(items.size()), 64, scratch.data(), &size), 0);
  return size;
}

TEST(Planner, ReusesMemoryOfValuesThatAreNoLongerLive) {
  std::vector<eave_plan_item> items = {{1000, 0, 1, 0}, {500, 1, 2, 0}, {1000, 2, 3, 0},
                                       {100, 3, 3, 0},  {0, 0, 3, 0},   {8, -1, -1, 0}};
  uint64_t size = plan(items);
  EXPECT_EQ(items[0].offset, 0u);     // largest first
  EXPECT_EQ(items[2].offset, 0u);     // the same size, live after item 0: its memory
  EXPECT_EQ(items[1].offset, 1024u);  // live with both
  EXPECT_EQ(size, 1024u + 512u);
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t j = i + 1; j < items.size(); ++j) {
      const eave_plan_item &a = items[i], &b = items[j];
      if (!a.size || !b.size || a.first < 0 || b.first < 0) continue;
      bool live_together = a.first <= b.last && b.first <= a.last;
      bool share = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
      EXPECT_FALSE(live_together && share) << i << " and " << j;
      EXPECT_EQ(a.offset % 64, 0u);
    }
}

TEST(Planner, BestFitPicksTheSmallestGap) {
  // Long-lived values 0, 2, 4 leave two gaps once the step-0 values 1 and 3 die: 768 bytes
  // at 1024 and 320 bytes at 2304. A 200-byte value at step 2 takes the smaller one.
  std::vector<eave_plan_item> items = {{1024, 0, 4, 0}, {768, 0, 0, 0}, {512, 0, 4, 0},
                                       {320, 0, 0, 0},  {256, 0, 4, 0}, {200, 2, 2, 0}};
  plan(items);
  EXPECT_EQ(items[3].offset, 2304u);
  EXPECT_EQ(items[5].offset, items[3].offset);
}

TEST(Planner, OverflowIsReported) {
  std::vector<eave_plan_item> items = {{UINT64_MAX - 10, 0, 0, 0}};
  std::vector<uint32_t> scratch(2);
  uint64_t size;
  EXPECT_EQ(eave_plan_arena(items.data(), 1, 64, scratch.data(), &size), -1);
}

int64_t eval(const Expr& e, const std::vector<int64_t>& syms = {}, std::string* error = nullptr) {
  const char* bad =
      eave_expr_check(e.code().data(), e.code().size(), uint32_t(syms.size()), 0, nullptr);
  EXPECT_EQ(bad, nullptr);
  eave_expr_env env{syms.data(), nullptr, nullptr, nullptr, nullptr};
  int64_t out = 0;
  char err[256] = "";
  int rc = eave_expr_eval(e.code().data(), e.code().size(), &env, &out, err, sizeof err);
  if (error) *error = rc ? err : "";
  return out;
}

TEST(Expr, FloorSemanticsMatchPython) {
  EXPECT_EQ(eval(floor_div(Expr(7), Expr(2))), 3);
  EXPECT_EQ(eval(floor_div(Expr(-7), Expr(2))), -4);
  EXPECT_EQ(eval(ceil_div(Expr(-7), Expr(2))), -3);
  EXPECT_EQ(eval(ceil_div(Expr(7), Expr(2))), 4);
  EXPECT_EQ(eval(ceil_div(Expr(8), Expr(2))), 4);
  EXPECT_EQ(eval(mod(Expr(-7), Expr(3))), 2);
  EXPECT_EQ(eval(mod(Expr(7), Expr(-3))), -2);
  EXPECT_EQ(eval(floor_div(Expr(INT64_MIN + 1), Expr(-1))), INT64_MAX);
  EXPECT_EQ(eval(select(lt(Expr::sym(0), Expr(3)), Expr(10), Expr(20)), {2}), 10);
  EXPECT_EQ(eval(max(abs(-Expr::sym(0)), Expr(1)) * 2 + 1, {5}), 11);
  EXPECT_EQ(eval(ceil_div(Expr::sym(0) - 3, Expr(2)) + 1, {224}), 112);  // conv output size
}

TEST(Expr, ArithmeticErrorsAreReported) {
  std::string err;
  eval(floor_div(Expr(1), Expr::sym(0)), {0}, &err);
  EXPECT_NE(err.find("division by zero"), std::string::npos) << err;
  eval(Expr(INT64_MAX) + Expr(1), {}, &err);
  EXPECT_NE(err.find("overflow"), std::string::npos) << err;
  eval(floor_div(Expr(INT64_MIN), Expr(-1)), {}, &err);
  EXPECT_NE(err.find("overflow"), std::string::npos) << err;
  eval(-Expr(INT64_MIN), {}, &err);
  EXPECT_NE(err.find("overflow"), std::string::npos) << err;
}

TEST(Expr, StaticCheckRejectsMalformedCode) {
  auto check = [](std::vector<uint8_t> code, uint32_t syms = 1) {
    const char* e = eave_expr_check(code.data(), code.size(), syms, 0, nullptr);
    return std::string(e ? e : "");
  };
  EXPECT_EQ(check({}), "empty expression");
  EXPECT_EQ(check({EAVE_EXPR_ADD}), "stack underflow");
  EXPECT_EQ(check({EAVE_EXPR_CONST, 1, 2}), "unknown opcode or truncated immediate");
  EXPECT_EQ(check({EAVE_EXPR_SYM, 5, 0, 0, 0}), "SYM index out of range");
  EXPECT_EQ(check({EAVE_EXPR_LOAD, 0, 0, 0, 0}), "LOAD value index out of range");
  EXPECT_EQ(check({99}), "unknown opcode or truncated immediate");
  std::vector<uint8_t> two = Expr(1).code();
  two.insert(two.end(), two.begin(), two.end());
  EXPECT_EQ(check(two), "expression leaves more than one value");
  std::vector<uint8_t> deep;
  for (int i = 0; i < 33; ++i) deep.insert(deep.end(), {EAVE_EXPR_SYM, 0, 0, 0, 0});
  EXPECT_EQ(check(deep), "stack overflow");
}

TEST(Hash, DependsOnEveryByteAndTheLength) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 7);
  uint64_t h = eave_artifact_hash(data.data(), data.size());
  EXPECT_EQ(h, eave_artifact_hash(data.data(), data.size()));
  for (size_t i = 0; i < data.size(); i += 37) {
    data[i] ^= 1;
    EXPECT_NE(h, eave_artifact_hash(data.data(), data.size())) << i;
    data[i] ^= 1;
  }
  std::vector<uint8_t> zeros(64, 0);
  EXPECT_NE(eave_artifact_hash(zeros.data(), 63), eave_artifact_hash(zeros.data(), 64));
}

TEST(CpuFeatures, DetectsTheHost) {
  eave_cpu_info cpu;
  eave_cpu_detect(&cpu);
  EXPECT_STREQ(eave_arch_name(cpu.arch),
               std::string(EAVE_HOST_ARCH) == "x86_64" ? "x86-64" : EAVE_HOST_ARCH);
  if (cpu.arch == EAVE_ARCH_X86_64) {
    int sse2 = eave_cpu_feature_find(EAVE_ARCH_X86_64, "sse2");
    ASSERT_GE(sse2, 0);
    EXPECT_TRUE(cpu.has[sse2]);  // x86-64 baseline
  }
  EXPECT_EQ(eave_cpu_feature_find(EAVE_ARCH_X86_64, "neon"), -1);
}

std::string writer_error(const std::function<void(ArtifactWriter&)>& build) {
  try {
    ArtifactWriter w;
    w.set_target(target_for(EAVE_HOST_ARCH));
    build(w);
    w.bytes();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ArtifactWriter, DiagnosticsNameWhatIsWrong) {
  EXPECT_EQ(writer_error([](ArtifactWriter& w) {
              std::vector<uint8_t> three(3);
              w.main().add_weight("w", EAVE_DTYPE_F32, {2}, three);
            }),
            "weight 'w': 3 bytes given, its dtype and dims need 8");
  EXPECT_EQ(writer_error([](ArtifactWriter& w) {
              ValueId x = w.main().add_input("x", EAVE_DTYPE_F32, {4});
              ProgramBuilder& other = w.add_program("other");
              ValueId y = other.add_output("y", EAVE_DTYPE_F32, {4});
              other.add_kernel("k", 0, 4, {x}, {y});
            }),
            "program 'other': value 'x' belongs to another program (pass it as an input)");
  EXPECT_EQ(writer_error([](ArtifactWriter& w) {
              SymbolId n = w.add_dim_symbol("n", {}, 4);
              w.main().add_arena("t", EAVE_DTYPE_F32, {Dim::sym(n)});
            }),
            "symbol 'n' is not a dim of any program input, an expression or a runtime symbol");
  EXPECT_EQ(writer_error([](ArtifactWriter& w) {
              SymbolId n = w.add_runtime_symbol("count");
              ValueId t = w.main().add_arena("t", EAVE_DTYPE_F32, {Dim::sym(n)});
              w.main().add_output_value(t);
            }),
            "arena value 't': symbol 'count' has no size before its program starts (make the "
            "value HEAP)");
  EXPECT_EQ(writer_error(
                [](ArtifactWriter& w) { w.main().add_input("x", EAVE_DTYPE_F32, {Dim::sym(3)}); }),
            "value 'x': dim names symbol 3, which does not exist");
}

TEST(ArtifactWriter, StaticModelSourceIsCWithAnAlignedArray) {
  ArtifactWriter w;
  w.set_target(target_for(EAVE_HOST_ARCH));
  ValueId x = w.main().add_input("x", EAVE_DTYPE_F32, {4});
  w.main().add_output_value(x);
  std::string c = w.static_model_source("tiny", "tiny_kernels");
  EXPECT_NE(c.find("Generated by eave's artifact writer"), std::string::npos);
  EXPECT_NE(c.find("extern const struct eave_kernel_table tiny_kernels;"), std::string::npos);
  EXPECT_NE(c.find("static _Alignas(64) const unsigned char tiny_artifact["), std::string::npos);
  EXPECT_NE(c.find("const eave_static_model tiny = {tiny_artifact, sizeof tiny_artifact, "
                   "&tiny_kernels};"),
            std::string::npos);
  w.set_code({1, 2, 3});
  EXPECT_THROW(w.static_model_source("tiny", "tiny_kernels"), Error);
}

}  // namespace
}  // namespace eave::testing
