#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

Node* batchnorm(GraphBuilder& b, Value* x, int64_t c) {
  return b.node(OpKind::BatchNormalization,
                {x, b.random("scale", {c}, 11), b.random("bias", {c}, 12), b.random("mean", {c}, 13),
                 b.g->add_constant("var", testing::random_tensor(DType::F32, {c}, 14).cast(DType::F32))});
}

// Variances must be positive: square the random values.
void make_var_positive(GraphBuilder& b) {
  Value* v = b.g->find_value("var");
  Tensor t = v->constant()->clone();
  for (float& x : t.mutable_span<float>()) x = x * x + 0.1f;
  v->set_constant(std::move(t));
}

TEST(FoldBatchNorm, FoldsIntoConvWeights) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {1, 3, 8, 8});
  Value* conv = b.op(OpKind::Conv, {x, b.random("w", {4, 3, 3, 3}), b.random("b", {4})},
                     {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  b.output(batchnorm(b, conv, 4)->output(0));
  make_var_positive(b);
  auto before = testing::clone_model(*b.model);
  fold_batchnorm(*b.model);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::BatchNormalization), 0u);
  EXPECT_EQ(b.g->num_nodes(), 1u);
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {1, 3, 8, 8})}}, {1e-4, 1e-5});
}

TEST(FoldBatchNorm, FoldsIntoGroupedConvTransposeAndGemm) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {1, 4, 5, 5});
  Value* ct = b.op(OpKind::ConvTranspose, {x, b.random("w", {4, 3, 2, 2})},
                   {{"group", Attribute::of_int(2)}, {"strides", Attribute::of_ints({2, 2})}});
  b.output(batchnorm(b, ct, 6)->output(0));
  make_var_positive(b);
  auto before = testing::clone_model(*b.model);
  fold_batchnorm(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::BatchNormalization), 0u);
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {1, 4, 5, 5})}}, {1e-4, 1e-5});

  GraphBuilder g2;
  Value* a = g2.input("a", DType::F32, {2, 5});
  Value* gemm = g2.op(OpKind::Gemm, {a, g2.random("w", {3, 5}), g2.random("c", {3})},
                      {{"transB", Attribute::of_int(1)}, {"beta", Attribute::of_float(0.5f)}});
  g2.output(batchnorm(g2, gemm, 3)->output(0));
  make_var_positive(g2);
  auto before2 = testing::clone_model(*g2.model);
  fold_batchnorm(*g2.model);
  EXPECT_EQ(testing::count_ops(*g2.g, OpKind::BatchNormalization), 0u);
  testing::expect_same_outputs(*before2, *g2.model,
                               {{"a", testing::random_tensor(DType::F32, {2, 5})}}, {1e-4, 1e-5});
}

TEST(FoldBatchNorm, StandaloneBecomesScaleAndShift) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 4, 3, 3});
  b.output(batchnorm(b, b.op(OpKind::Relu, {x}), 4)->output(0));
  make_var_positive(b);
  auto before = testing::clone_model(*b.model);
  fold_batchnorm(*b.model);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::BatchNormalization), 0u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Mul), 1u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Add), 1u);
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {2, 4, 3, 3})}}, {1e-4, 1e-5});
}

}  // namespace
}  // namespace eave
