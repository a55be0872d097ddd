#include "compiler/pipeline.h"
#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

TEST(FoldConstants, EvaluatesConstantSubgraphs) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 3});
  Value* w = b.op(OpKind::Mul, {b.floats("a", {3}, {1, 2, 3}), b.scalar(2)});
  Value* y = b.op(OpKind::Add, {x, w});
  b.output(y);
  auto before = testing::clone_model(*b.model);
  fold_constants(*b.model);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Mul), 0u);
  Value* folded = b.g->nodes().front()->input(1);
  ASSERT_TRUE(folded->is_constant());
  EXPECT_EQ(folded->constant()->to_int_vector(), (std::vector<int64_t>{2, 4, 6}));
  testing::expect_same_outputs(*before, *b.model, {{"x", testing::random_tensor(DType::F32, {2, 3})}});
}

TEST(FoldConstants, FoldsShapeOfStaticTensor) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3});
  Value* s = b.op(OpKind::Shape, {x});
  Value* y = b.op(OpKind::Reshape, {x, b.op(OpKind::Concat, {s, b.ints("one", {1})}, {{"axis", Attribute::of_int(0)}})});
  b.output(y);
  fold_constants(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Shape), 0u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Concat), 0u);
  EXPECT_EQ(b.g->nodes().front()->input(1)->constant()->to_int_vector(),
            (std::vector<int64_t>{2, 3, 1}));
}

TEST(FoldConstants, LeavesGrowingFoldsToRunTime) {
  GraphBuilder b;
  Value* big = b.op(OpKind::ConstantOfShape, {b.ints("shape", {1024, 1024})});
  Value* x = b.input("x", DType::F32, {1024, 1024});
  b.output(b.op(OpKind::Add, {x, big}));
  fold_constants(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::ConstantOfShape), 1u);
}

// Pads that an exporter computes with ops shape inference does not follow (here a Cast from
// float) become constant only when folded; the pipeline then infers again, so the Pad's result
// and everything after it get numbers, not symbols.
TEST(FoldConstants, PipelineRefinesShapesAfterFolding) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {1, 5, 6});
  Value* pads = b.op(OpKind::Cast, {b.floats("pads", {6}, {0, 1, 0, 0, 2, 0})},
                     {{"to", Attribute::of_int(7)}});  // INT64
  Value* padded = b.op(OpKind::Pad, {x, pads});
  ASSERT_FALSE(padded->shape().is_static()) << "inference followed the Cast: nothing to refine";
  b.output(b.op(OpKind::Relu, {padded}));
  optimize_graph(*b.model, PipelineOptions{});
  EXPECT_EQ(b.g->outputs()[0]->shape().str(), "[1,8,6]");
}

}  // namespace
}  // namespace eave
