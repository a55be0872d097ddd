// Tests for the recognize_layernorm, recognize_gelu and recognize_softmax passes.
#include <cmath>

#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

TEST(RecognizeLayerNorm, ReplacesDecomposedLayerNorm) {
  GraphBuilder b;
  Dim seq = Dim::symbol("seq");
  Value* x = b.input("x", DType::F32, {seq, 8});
  auto mean_of = [&](Value* v) {
    return b.op(OpKind::ReduceMean, {v}, {{"axes", Attribute::of_ints({-1})}});
  };
  Value* d = b.op(OpKind::Sub, {x, mean_of(x)});
  Value* var = mean_of(b.op(OpKind::Pow, {d, b.scalar(2)}));
  Value* n = b.op(OpKind::Div, {d, b.op(OpKind::Sqrt, {b.op(OpKind::Add, {var, b.scalar(1e-5f)})})});
  Value* y = b.op(OpKind::Add, {b.op(OpKind::Mul, {n, b.random("gamma", {8})}), b.random("beta", {8})});
  b.output(y);
  auto before = testing::clone_model(*b.model);
  recognize_layernorm(*b.model);
  verify(*b.model);
  EXPECT_EQ(b.g->num_nodes(), 1u);
  EXPECT_EQ(b.g->nodes().front()->kind(), OpKind::LayerNormalization);
  EXPECT_EQ(b.g->outputs()[0]->shape(), Shape({seq, Dim(8)}));
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {5, 8})}}, {1e-4, 1e-5});
}

TEST(RecognizeLayerNorm, LeavesSharedIntermediatesAlone) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {4, 8});
  Value* mean = b.op(OpKind::ReduceMean, {x}, {{"axes", Attribute::of_ints({-1})}});
  Value* d = b.op(OpKind::Sub, {x, mean});
  Value* var = b.op(OpKind::ReduceMean, {b.op(OpKind::Mul, {d, d})}, {{"axes", Attribute::of_ints({-1})}});
  Value* n = b.op(OpKind::Div, {d, b.op(OpKind::Sqrt, {b.op(OpKind::Add, {var, b.scalar(1e-5f)})})});
  b.output(n);
  b.output(mean);  // the mean is also a model output: the pattern must stay
  recognize_layernorm(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::LayerNormalization), 0u);
}

TEST(RecognizeGelu, ErfForm) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {3, 7});
  Value* e = b.op(OpKind::Erf, {b.op(OpKind::Div, {x, b.scalar(float(std::sqrt(2.0)))})});
  Value* y = b.op(OpKind::Mul, {b.op(OpKind::Mul, {x, b.op(OpKind::Add, {e, b.scalar(1)})}), b.scalar(0.5f)});
  b.output(y);
  auto before = testing::clone_model(*b.model);
  recognize_gelu(*b.model);
  verify(*b.model);
  ASSERT_EQ(b.g->num_nodes(), 1u);
  EXPECT_EQ(b.g->nodes().front()->kind(), OpKind::Gelu);
  testing::expect_same_outputs(*before, *b.model, {{"x", testing::random_tensor(DType::F32, {3, 7})}});
}

TEST(RecognizeGelu, TanhForm) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {16});
  Value* cube = b.op(OpKind::Pow, {x, b.scalar(3)});
  Value* inner = b.op(OpKind::Add, {x, b.op(OpKind::Mul, {b.scalar(0.044715f), cube})});
  Value* t = b.op(OpKind::Tanh, {b.op(OpKind::Mul, {inner, b.scalar(float(std::sqrt(2.0 / M_PI)))})});
  Value* half_x = b.op(OpKind::Mul, {b.scalar(0.5f), x});
  b.output(b.op(OpKind::Mul, {half_x, b.op(OpKind::Add, {b.scalar(1), t})}));
  auto before = testing::clone_model(*b.model);
  recognize_gelu(*b.model);
  ASSERT_EQ(b.g->num_nodes(), 1u);
  EXPECT_EQ(b.g->nodes().front()->attr_string("approximate"), "tanh");
  testing::expect_same_outputs(*before, *b.model, {{"x", testing::random_tensor(DType::F32, {16})}});
}

TEST(RecognizeSoftmax, MaxSubtractedForm) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3, 5});
  Value* m = b.op(OpKind::ReduceMax, {x}, {{"axes", Attribute::of_ints({2})}});
  Value* e = b.op(OpKind::Exp, {b.op(OpKind::Sub, {x, m})});
  Value* s = b.op(OpKind::ReduceSum, {e, b.ints("axes", {-1})});
  b.output(b.op(OpKind::Div, {e, s}));
  auto before = testing::clone_model(*b.model);
  recognize_softmax(*b.model);
  verify(*b.model);
  ASSERT_EQ(b.g->num_nodes(), 1u);
  EXPECT_EQ(b.g->nodes().front()->kind(), OpKind::Softmax);
  testing::expect_same_outputs(*before, *b.model, {{"x", testing::random_tensor(DType::F32, {2, 3, 5})}});
}

}  // namespace
}  // namespace eave
