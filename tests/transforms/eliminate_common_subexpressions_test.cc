#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

TEST(EliminateCommonSubexpressions, MergesEqualNodesAndConstants) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {4});
  Value* a = b.op(OpKind::Add, {x, b.scalar(1)});
  Value* c = b.op(OpKind::Add, {x, b.scalar(1)});  // a separate but equal constant
  Value* d = b.op(OpKind::Add, {x, b.scalar(2)});
  b.output(b.op(OpKind::Sum, {a, c, d}));
  eliminate_common_subexpressions(*b.model);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Add), 2u);
  Node* sum = b.g->nodes().back().get();
  EXPECT_EQ(sum->input(0), sum->input(1));
  EXPECT_NE(sum->input(0), sum->input(2));
}

TEST(EliminateCommonSubexpressions, KeepsDifferentAttributes) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {4});
  Value* a = b.op(OpKind::LeakyRelu, {x}, {{"alpha", Attribute::of_float(0.1f)}});
  Value* c = b.op(OpKind::LeakyRelu, {x}, {{"alpha", Attribute::of_float(0.2f)}});
  b.output(b.op(OpKind::Add, {a, c}));
  eliminate_common_subexpressions(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::LeakyRelu), 2u);
}

}  // namespace
}  // namespace eave
