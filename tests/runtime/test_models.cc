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

// x -> 2x -> -2x -> -4x -> -4x + batch, through three arena values (t1 and t3 may share).
void build_chain_model(ArtifactWriter& w) {
  SymbolId n = w.add_dim_symbol("batch", {1, 1024}, 4);
  SymbolId elems = w.add_expr_symbol("elems", Expr::sym(n) * 16);
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId t1 = p.add_arena("t1", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId t2 = p.add_arena("t2", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId t3 = p.add_arena("t3", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId z = p.add_output("z", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  p.add_kernel("scale_a", kScale2, Dim::sym(elems), {x}, {t1});
  p.add_kernel("negate", kNegate, Dim::sym(elems), {t1}, {t2});
  p.add_kernel("scale_b", kScale2, Dim::sym(elems), {t2}, {t3});
  p.add_kernel("add_batch", kAddSymbol0, Dim::sym(elems), {t3}, {z});
}

// then: 2x; else: -x. Both branches read x and write y of the IF step.
void build_if_model(ArtifactWriter& w) {
  SymbolId n = w.add_dim_symbol("n", {1, 64}, 4);
  SymbolId elems = w.add_expr_symbol("n*16", Expr::sym(n) * 16);
  ProgramBuilder& then_p = w.add_program("then");
  ProgramBuilder& else_p = w.add_program("else");
  for (ProgramBuilder* b : {&then_p, &else_p}) {
    ValueId xin = b->add_input("x_in", EAVE_DTYPE_F32, {Dim::sym(n), 16});
    ValueId yout = b->add_output("y_out", EAVE_DTYPE_F32, {Dim::sym(n), 16});
    b->add_kernel(b == &then_p ? "double" : "negate", b == &then_p ? kScale2 : kNegate,
                  Dim::sym(elems), {xin}, {yout});
  }
  ProgramBuilder& p = w.main();
  ValueId cond = p.add_input("cond", EAVE_DTYPE_BOOL, {});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  p.add_if("If_0", cond, {x}, {x}, {y}, then_p.id(), else_p.id());
}

}  // namespace eave::testing
