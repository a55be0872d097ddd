// MatMul with a runtime B (batched, broadcast, dynamic sizes) compiled with the MLIR kernel
// generator against the reference interpreter.
#include <gtest/gtest.h>

#include "lowering/lowering.h"
#include "tests/codegen/lowering_test_util.h"

namespace eave::testing {
namespace {

std::vector<Dim> dims_of(const std::vector<int64_t>& v, const std::vector<std::string>& names = {}) {
  std::vector<Dim> d;
  for (size_t i = 0; i < v.size(); ++i)
    d.push_back(i < names.size() && !names[i].empty() ? Dim::symbol(names[i]) : Dim(v[i]));
  return d;
}

void check(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
           const std::vector<std::string>& a_names = {}, const std::vector<std::string>& b_names = {}) {
  SCOPED_TRACE(::testing::PrintToString(a) + " x " + ::testing::PrintToString(b));
  GraphBuilder g;
  Value* va = g.input("a", DType::F32, dims_of(a, a_names));
  Value* vb = g.input("b", DType::F32, dims_of(b, b_names));
  g.output(g.op(OpKind::MatMul, {va, vb}));
  CompiledRun r = expect_matches_reference(
      *g.model, {{{"a", random_tensor(DType::F32, a, 1)}, {"b", random_tensor(DType::F32, b, 2)}}});
  EXPECT_EQ(r.kernels, std::vector<std::string>{"MatMul"});
}

TEST(BatchMatmulLowering, Shapes) {
  check({5, 7}, {7, 9});
  check({2, 3, 5, 7}, {2, 3, 7, 9});
  check({1, 12, 33, 64}, {1, 12, 64, 33});    // attention scores
  check({1, 12, 33, 33}, {1, 12, 33, 64});    // attention output
  check({3, 9, 17}, {17, 1});                 // N = 1
  check({4, 1, 8}, {4, 8, 40});               // M = 1, N tail
  check({2, 6, 1}, {2, 1, 31});               // K = 1
  check({3, 5, 7}, {7, 9});                   // B broadcast over the batch
  check({5, 7}, {3, 7, 9});                   // A broadcast
  check({2, 1, 5, 7}, {1, 3, 7, 9});          // both broadcast
  check({2, 11, 300}, {2, 300, 37});          // the N tail's panel copied in two K blocks
}

TEST(BatchMatmulLowering, DynamicSizes) {
  check({2, 4, 19, 16}, {2, 4, 16, 19}, {"B", "", "S"}, {"B", "", "", "S"});
  check({2, 4, 19, 19}, {2, 4, 19, 16}, {"B", "", "S", "S"}, {"B", "", "S"});
}

// Attention's scores: Q·Kᵀ, scaled, plus a mask of the scores' shape and a per-column bias, in
// one kernel; a mask broadcast over the rows of only some batches stays separate.
TEST(BatchMatmulLowering, FusedScaleAndMasks) {
  for (bool dynamic : {false, true}) {
    GraphBuilder g;
    std::vector<Dim> qd = {2, 3, dynamic ? Dim::symbol("S") : Dim(21), 16};
    std::vector<Dim> kd = {2, 3, 16, 40};
    std::vector<Dim> md = {2, 3, qd[2], 40};
    Value* q = g.input("q", DType::F32, qd);
    Value* k = g.input("k", DType::F32, kd);
    Value* mask = g.input("mask", DType::F32, md);
    Value* y = g.op(OpKind::MatMul, {q, k});
    y = g.op(OpKind::Div, {y, g.scalar(4.0f)});
    y = g.op(OpKind::Add, {y, mask});
    y = g.op(OpKind::Add, {y, g.random("col", {1, 40}, 3)});
    g.output(g.op(OpKind::Add, {y, g.random("per_batch", {2, 1, 1, 40}, 4)}));
    Inputs in = {{"q", random_tensor(DType::F32, {2, 3, 21, 16}, 1)},
                 {"k", random_tensor(DType::F32, {2, 3, 16, 40}, 2)},
                 {"mask", random_tensor(DType::F32, {2, 3, 21, 40}, 3)}};
    CompiledRun r = expect_matches_reference(*g.model, {in});
    EXPECT_EQ(r.kernels, (std::vector<std::string>{"MatMul+Div+Add+Add", "Add"}));
  }
}

TEST(BatchMatmulLowering, ConstantBGoesToThePackedKernel) {
  GraphBuilder g;
  Node* n = g.node(OpKind::MatMul, {g.input("a", DType::F32, {4, 8}), g.random("w", {8, 16})});
  EXPECT_FALSE(lowering::lowers_batch_matmul(*n));
  EXPECT_TRUE(lowering::lowers_matmul(*n));
  Node* vec = g.node(OpKind::MatMul, {g.input("v", DType::F32, {8}), g.input("m", DType::F32, {8, 3})});
  EXPECT_FALSE(lowering::lowers_batch_matmul(*vec));
}

}  // namespace
}  // namespace eave::testing
