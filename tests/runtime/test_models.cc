#include "tests/runtime/test_models.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "support/error.h"

namespace eave::testing {

using namespace artifact;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EAVE_CHECK(in.good(), "cannot read '", path, "'");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

Target target_for(const std::string& arch) {
  if (arch == "x86_64") return {Arch::X86_64, "x86_64-unknown-linux-gnu", "x86-64", {"sse2"}};
  if (arch == "aarch64") return {Arch::AArch64, "aarch64-unknown-linux-gnu", "generic", {"neon"}};
  if (arch == "riscv64")
    return {Arch::RiscV64, "riscv64-unknown-linux-gnu", "generic-rv64", {"m", "a", "f", "d", "c"}};
  fail("unknown architecture '", arch, "'");
}

void build_smoke_model(ArtifactWriter& w) {
  SymbolId batch = w.add_dim_symbol("batch", {1, 64}, 4);
  SymbolId elems = w.add_expr_symbol("batch*16", Expr::sym(batch) * 16, {16, 1024});
  std::vector<uint8_t> b(16 * sizeof(float));
  for (int c = 0; c < 16; ++c) {
    float v = 0.5f * float(c);
    std::memcpy(b.data() + 4 * c, &v, 4);
  }
  ProgramBuilder& m = w.main();
  ValueId x = m.add_input("x", EAVE_DTYPE_F32, {Dim::sym(batch), 16});
  ValueId bias = m.add_weight("b", EAVE_DTYPE_F32, {16}, b);
  ValueId y = m.add_arena("y", EAVE_DTYPE_F32, {Dim::sym(batch), 16});
  ValueId z = m.add_output("z", EAVE_DTYPE_F32, {Dim::sym(batch), 16});
  m.add_kernel("add_exp", kAddExpRows, Dim::sym(batch), {x, bias}, {y});
  m.add_kernel("scale2", kScale2, Dim::sym(elems), {y}, {z});
}

}  // namespace eave::testing
