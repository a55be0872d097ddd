#include "ir/shape_inference.h"
#include "reference/interpreter.h"
#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

void attach(Node* n, const std::string& attr, std::shared_ptr<Graph> sub) {
  n->set_attr(attr, Attribute::of_graph(sub));
  sub->set_parent_node(n);
}

// y = If(cond) then Squeeze(x, [0]) else Identity(x): the two branches disagree on rank, as in
// an exporter's `if x.size(0) == 1: x = x.squeeze(0)`. Returns the If.
Node* squeeze_if(GraphBuilder& b, Value* cond, Value* x) {
  auto then_g = std::make_shared<Graph>("then");
  Value* axes = then_g->add_constant("axes", Tensor::from_vector<int64_t>({1}, {0}));
  Value* sq = then_g->add_value("sq");
  then_g->add_node(OpKind::Squeeze, {x, axes}, {sq}, "squeeze");
  then_g->add_output(sq);
  auto else_g = std::make_shared<Graph>("else");
  Value* id = else_g->add_value("id");
  else_g->add_node(OpKind::Identity, {x}, {id}, "identity");
  else_g->add_output(id);
  Value* y = b.g->add_value("y");
  Node* n = b.g->add_node(OpKind::If, {cond}, {y}, "if");
  attach(n, "then_branch", then_g);
  attach(n, "else_branch", else_g);
  return n;
}

TEST(InlineConstantIf, ShapeCheckOnAStaticInputIsInlined) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {1, 4});
  Value* d0 = b.op(OpKind::Gather, {b.op(OpKind::Shape, {x}), b.ints("zero", {0})});
  Value* cond = b.op(OpKind::Equal, {d0, b.ints("one", {1})});
  Node* n = squeeze_if(b, cond, x);
  b.output(b.op(OpKind::Relu, {n->output(0)}));
  auto before = testing::clone_model(*b.model);

  infer_shapes(*b.g);
  fold_constants(*b.model);
  EXPECT_TRUE(inline_constant_if(*b.model));
  infer_shapes(*b.g);
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::If), 0u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Squeeze), 1u);
  EXPECT_EQ(b.g->outputs()[0]->shape().str(), "[4]");
  testing::expect_same_outputs(*before, *b.model, {{"x", testing::random_tensor(DType::F32, {1, 4})}});
  EXPECT_FALSE(inline_constant_if(*b.model)) << "nothing is left to inline";
}

TEST(InlineConstantIf, ConditionFromAnInputStaysAnIf) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {1, 4});
  Value* c = b.input("c", DType::Bool, {});
  b.output(squeeze_if(b, c, x)->output(0));
  infer_shapes(*b.g);
  EXPECT_FALSE(inline_constant_if(*b.model));
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::If), 1u);
}

// With x of shape [3, 4] the then branch (Squeeze of axis 0) cannot run: the If becomes its else
// branch behind a Check that stops a run whose condition is true, naming the If.
TEST(InlineConstantIf, UnreachableBranchBecomesACheck) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {3, 4});
  Value* c = b.input("c", DType::Bool, {});
  Node* n = squeeze_if(b, c, x);
  b.output(n->output(0));
  infer_shapes(*b.g);
  ASSERT_NE(n->find_attr(kUnreachableBranch), nullptr);
  EXPECT_EQ(n->find_attr(kUnreachableBranch)->s, "then");
  EXPECT_EQ(b.g->outputs()[0]->shape().str(), "[3,4]") << "typed by the branch that can run";

  EXPECT_TRUE(inline_constant_if(*b.model));
  verify(*b.model);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::If), 0u);
  EXPECT_EQ(testing::count_ops(*b.g, OpKind::Check), 1u);
  Tensor xv = testing::random_tensor(DType::F32, {3, 4});
  auto out = ref::run_model(*b.model, {{"x", xv}, {"c", Tensor::scalar<bool>(false)}});
  EXPECT_EQ(out[0].tensor.dims(), (std::vector<int64_t>{3, 4}));
  try {
    ref::run_model(*b.model, {{"x", xv}, {"c", Tensor::scalar<bool>(true)}});
    FAIL() << "the check did not stop the run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'if'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("then branch was taken"), std::string::npos) << e.what();
  }
  // The Check survives export and import, and dead-code elimination.
  auto round_trip = testing::clone_model(*b.model);
  eliminate_dead_code(*round_trip);
  EXPECT_EQ(testing::count_ops(*round_trip->graph, OpKind::Check), 1u);
}

}  // namespace
}  // namespace eave
