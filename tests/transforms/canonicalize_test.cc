#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

TEST(Canonicalize, RemovesNoOps) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3});
  Value* a = b.op(OpKind::Identity, {x});
  Value* c = b.op(OpKind::Cast, {a}, {{"to", Attribute::of_int(1)}});
  Value* d = b.op(OpKind::Dropout, {c});
  Value* t = b.op(OpKind::Transpose, {d}, {{"perm", Attribute::of_ints({0, 1})}});
  Value* y = b.op(OpKind::Relu, {t});
  b.output(y);
  canonicalize(*b.model);
  verify(*b.model);
  EXPECT_EQ(b.g->num_nodes(), 1u);
  EXPECT_EQ(b.g->nodes().front()->input(0), x);
}

// torch exports nn.Dropout(p=0.0) with training_mode = true: still the identity. A training
// Dropout with a ratio above 0 masks, and stays.
TEST(Canonicalize, TrainingDropoutWithRatioZeroIsRemoved) {
  for (float ratio : {0.0f, 0.1f}) {
    GraphBuilder b;
    Value* x = b.input("x", DType::F32, {2, 3});
    Value* training = b.g->add_constant("training", Tensor::from_vector<bool>({}, {true}));
    Value* d = b.op(OpKind::Dropout, {x, b.floats("ratio", {}, {ratio}), training});
    b.output(b.op(OpKind::Relu, {d}));
    canonicalize(*b.model);
    verify(*b.model);
    EXPECT_EQ(testing::count_ops(*b.g, OpKind::Dropout), ratio == 0.0f ? 0u : 1u) << ratio;
  }
}

TEST(Canonicalize, ComposesTransposes) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3, 4});
  Value* t1 = b.op(OpKind::Transpose, {x}, {{"perm", Attribute::of_ints({1, 2, 0})}});
  Value* t2 = b.op(OpKind::Transpose, {t1}, {{"perm", Attribute::of_ints({2, 0, 1})}});
  b.output(b.op(OpKind::Relu, {t2}));
  auto before = testing::clone_model(*b.model);
  canonicalize(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Transpose), 0u);  // the composition is the identity
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {2, 3, 4})}});
}

// Opset 6 PRelu took a [C] slope over axis 1; NumPy broadcasting would use the last axis.
TEST(Canonicalize, LegacyChannelSlopeOfPReluBroadcastsOverAxisOne) {
  GraphBuilder b(6);
  Value* x = b.input("x", DType::F32, {2, 3, 4, 5});
  Value* channels = b.op(OpKind::PRelu, {x, b.random("slope", {3})});
  Value* last = b.op(OpKind::PRelu, {x, b.random("slope", {5}, 2)});
  b.output(channels);
  b.output(last);
  auto before = testing::clone_model(*b.model);
  canonicalize(*b.model);
  verify(*b.model);
  const Node* p = channels->producer();
  ASSERT_EQ(p->input(1)->producer()->kind(), OpKind::Reshape);
  EXPECT_EQ(p->input(1)->shape().static_dims(), (std::vector<int64_t>{3, 1, 1}));
  EXPECT_EQ(last->producer()->input(1)->producer(), nullptr);  // a [5] slope already broadcasts
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {2, 3, 4, 5})}});
}

TEST(Canonicalize, StaticShapeOpsBecomeOneReshape) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3, 4});
  Value* f = b.op(OpKind::Flatten, {x}, {{"axis", Attribute::of_int(1)}});
  Value* u = b.op(OpKind::Unsqueeze, {f, b.ints("axes", {0})});
  Value* r = b.op(OpKind::Reshape, {u, b.ints("s", {6, 4})});
  b.output(b.op(OpKind::Relu, {r}));
  auto before = testing::clone_model(*b.model);
  canonicalize(*b.model);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Reshape), 1u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Flatten), 0u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Unsqueeze), 0u);
  testing::expect_same_outputs(*before, *b.model,
                               {{"x", testing::random_tensor(DType::F32, {2, 3, 4})}});
}

TEST(Canonicalize, MergesDynamicReshapeChains) {
  GraphBuilder b;
  Dim n = Dim::symbol("n");
  Value* x = b.input("x", DType::F32, {n, 6});
  Value* r1 = b.op(OpKind::Reshape, {x, b.ints("s1", {-1, 2, 3})});
  Value* r2 = b.op(OpKind::Reshape, {r1, b.ints("s2", {-1, 3})});
  b.output(b.op(OpKind::Relu, {r2}));
  canonicalize(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Reshape), 1u);
  EXPECT_EQ(b.g->nodes().front()->input(0), x);
  EXPECT_EQ(b.g->outputs()[0]->shape(), Shape({n * Dim(2), Dim(3)}));
}

}  // namespace
}  // namespace eave
