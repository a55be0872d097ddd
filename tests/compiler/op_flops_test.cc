// Operation counts per node (compiler/op_flops.h): 2 per multiply-add, 1 per elementwise
// result, 0 for data movement, as symbolic expressions where shapes are.
#include "compiler/op_flops.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace eave {
namespace {

TEST(OpFlops, CountsMultiplyAddsAsTwoAndDataMovementAsZero) {
  testing::GraphBuilder b;
  Value* a = b.input("a", DType::F32, {Dim::symbol("m"), 8});
  Value* mm = b.op(OpKind::MatMul, {a, b.random("w", {8, 5})});
  Value* t = b.op(OpKind::Transpose, {mm});
  Value* conv_in = b.input("img", DType::F32, {1, 3, 10, 10});
  Value* conv = b.op(OpKind::Conv, {conv_in, b.random("k", {4, 3, 3, 3}), b.random("c", {4})});
  EXPECT_EQ(node_flops(*mm->producer()), Dim::symbol("m") * 80);
  EXPECT_EQ(node_flops(*t->producer()), Dim(0));
  // [1,4,8,8] outputs, 27 multiply-adds each, plus the bias.
  EXPECT_EQ(node_flops(*conv->producer()), Dim(256 * 27 * 2 + 256));
  Value* relu = b.op(OpKind::Relu, {mm});
  EXPECT_EQ(node_flops(*relu->producer()), Dim::symbol("m") * 5);
}

}  // namespace
}  // namespace eave
