#include "ir/graph.h"

#include <gtest/gtest.h>

#include "ir/printer.h"
#include "ir/verifier.h"

namespace eave {
namespace {

Type f32(std::vector<int64_t> dims) { return Type::tensor(DType::F32, Shape::from_ints(dims)); }

struct Chain {
  Model m;
  Value *x, *a, *b;
  Node *relu, *neg;
  Chain() {
    m.opsets[""] = 17;
    m.graph = std::make_shared<Graph>("g");
    m.graph->set_model(&m);
    Graph& g = *m.graph;
    x = g.add_input("x", f32({2, 3}));
    a = g.add_value("a");
    b = g.add_value("b");
    relu = g.add_node(OpKind::Relu, {x}, {a}, "relu");
    neg = g.add_node(OpKind::Neg, {a}, {b}, "neg");
    g.add_output(b);
  }
};

TEST(Graph, UseListsFollowRewrites) {
  Chain c;
  EXPECT_EQ(c.a->uses().size(), 1u);
  EXPECT_EQ(c.a->producer(), c.relu);
  c.a->replace_all_uses_with(c.x);
  EXPECT_TRUE(c.a->uses().empty());
  EXPECT_EQ(c.neg->input(0), c.x);
  c.m.graph->erase_node(c.relu);
  c.m.graph->remove_dead_values();
  EXPECT_EQ(c.m.graph->num_nodes(), 1u);
  EXPECT_EQ(c.m.graph->find_value("a"), nullptr);
  verify(c.m);
}

TEST(Graph, TopoSortOrdersProducersFirst) {
  Chain c;
  c.m.graph->move_before(c.neg, c.relu);
  EXPECT_EQ(c.m.graph->nodes().front().get(), c.neg);
  EXPECT_THROW(verify(c.m), InternalError);
  c.m.graph->topo_sort();
  EXPECT_EQ(c.m.graph->nodes().front().get(), c.relu);
  verify(c.m);
}

TEST(Graph, TopoSortReportsCycles) {
  Chain c;
  c.relu->set_input(0, c.b);
  try {
    c.m.graph->topo_sort();
    FAIL() << "expected a cycle error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
  }
}

TEST(Graph, AttributesAreTypedAndNamed) {
  Chain c;
  c.relu->set_attr("alpha", Attribute::of_float(0.5f));
  EXPECT_FLOAT_EQ(c.relu->attr_float("alpha"), 0.5f);
  EXPECT_EQ(c.relu->attr_int("missing", 7), 7);
  try {
    c.relu->attr_int("alpha");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "node 'relu' (Relu): attribute 'alpha' should be int but is float");
  }
  try {
    c.relu->attr_ints("perm");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "node 'relu' (Relu): missing required attribute 'perm'");
  }
}

TEST(Graph, SubgraphsSeeOuterValues) {
  Chain c;
  Graph& g = *c.m.graph;
  Value* cond = g.add_input("cond", Type::tensor(DType::Bool, Shape::from_ints({})));
  auto then_g = std::make_shared<Graph>("then");
  Value* t_out = then_g->add_value("t_out");
  then_g->add_node(OpKind::Identity, {c.b}, {t_out});  // outer-scope reference
  then_g->add_output(t_out);
  auto else_g = std::make_shared<Graph>("else");
  Value* e_out = else_g->add_value("e_out");
  else_g->add_node(OpKind::Identity, {c.x}, {e_out});
  else_g->add_output(e_out);
  Value* y = g.add_value("y");
  Node* n = g.add_node(OpKind::If, {cond}, {y}, "if");
  n->set_attr("then_branch", Attribute::of_graph(then_g));
  n->set_attr("else_branch", Attribute::of_graph(else_g));
  for (Graph* s : n->subgraphs()) s->set_parent_node(n);
  g.add_output(y);
  verify(c.m);
  EXPECT_EQ(then_g->parent_graph(), &g);
  EXPECT_EQ(then_g->model(), &c.m);
  // Moving the If before the producer of the value its branch reads breaks scoping...
  g.move_before(n, c.relu);
  EXPECT_THROW(verify(c.m), InternalError);
  // ...and topo_sort accounts for reads from inside subgraphs.
  g.topo_sort();
  verify(c.m);
}

TEST(Printer, PrintsTypesAttributesAndNames) {
  Chain c;
  c.a->set_type(f32({2, 3}));
  c.b->set_type(f32({2, 3}));
  c.relu->set_attr("alpha", Attribute::of_float(0.5f));
  std::string text = print_graph(*c.m.graph);
  EXPECT_EQ(text,
            "graph g(%x: f32[2,3]) -> (%b: f32[2,3]) {\n"
            "  %a: f32[2,3] = Relu(%x) {alpha = 0.5}  # relu\n"
            "  %b: f32[2,3] = Neg(%a)  # neg\n"
            "  return %b\n"
            "}\n");
}

TEST(OpKind, KnowsDomains) {
  EXPECT_EQ(op_kind_from("", "Conv"), OpKind::Conv);
  EXPECT_EQ(op_kind_from("ai.onnx", "Conv"), OpKind::Conv);
  EXPECT_EQ(op_kind_from("ai.onnx.ml", "Conv"), OpKind::Unknown);
  EXPECT_EQ(op_kind_from("ai.onnx.ml", "LabelEncoder"), OpKind::LabelEncoder);
  EXPECT_EQ(op_kind_from("", "NoSuchOp"), OpKind::Unknown);
}

}  // namespace
}  // namespace eave
