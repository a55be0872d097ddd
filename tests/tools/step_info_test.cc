// The STEP_INFO section: what the compiler records per step (nodes, FLOPs as an expression over
// the symbols) comes back out of the artifact for `eave profile`, and the runtime still loads
// an artifact that carries it.
#include "tools/step_info.h"

#include <gtest/gtest.h>

#include "codegen/artifact_writer.h"
#include "ir/tensor.h"
#include "runtime/src/session.h"
#include "tools/runtime_session.h"

namespace eave {
namespace {

using artifact::ArtifactWriter;
using artifact::Builtin;
using artifact::Expr;
using artifact::ProgramBuilder;
using artifact::StepId;
using artifact::SymbolId;
using artifact::ValueId;

TEST(StepInfo, RoundTripsThroughTheArtifactAndEvaluatesWithTheRunsSymbols) {
  ArtifactWriter w;
  w.set_target({artifact::Arch::X86_64, "x86_64-unknown-linux-gnu", "x86-64", {}});
  SymbolId n = w.add_dim_symbol("batch", {1, 64}, 4);
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {artifact::Dim::sym(n), 16});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {artifact::Dim::sym(n), 16});
  StepId s = p.add_builtin("copy_x", Builtin::COPY, {x}, {y});
  w.set_step_info(p.id(), s, {{"relu_1", "Relu"}, {"", "Add"}}, Expr::sym(n) * 32 + 1);
  std::vector<uint8_t> bytes = w.bytes();

  auto info = read_step_info(bytes);
  ASSERT_EQ(info.size(), 1u);
  const StepInfo& si = info.at({0, 0});
  ASSERT_EQ(si.nodes.size(), 2u);
  EXPECT_EQ(si.nodes[0], (std::pair<std::string, std::string>{"relu_1", "Relu"}));
  EXPECT_EQ(si.nodes[1].second, "Add");

  // The runtime skips the optional section; after a run with batch 3 the FLOPs are 3 * 32 + 1.
  auto model = RuntimeModel::load_memory(bytes);
  RuntimeSession session(model, 1);
  session.run({{"x", Tensor(DType::F32, {3, 16})}});
  EXPECT_EQ(step_flops(si, session.get()), 97.0);
}

TEST(StepInfo, AnArtifactWithoutItHasNone) {
  ArtifactWriter w;
  w.set_target({artifact::Arch::X86_64, "x86_64-unknown-linux-gnu", "x86-64", {}});
  ValueId x = w.main().add_input("x", EAVE_DTYPE_F32, {4});
  ValueId y = w.main().add_output("y", EAVE_DTYPE_F32, {4});
  w.main().add_builtin("copy", Builtin::COPY, {x}, {y});
  EXPECT_TRUE(read_step_info(w.bytes()).empty());
}

}  // namespace
}  // namespace eave
