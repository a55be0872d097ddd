// Control flow and sequences through `eave compile` and the runtime, diff-tested against the
// reference interpreter. The graphs are tiny and their subgraphs use only ops the runtime has
// builtins for (views, NonZero, sequences and optionals), so they compile without code
// generation: If with branches of different shapes, Loop with captures, a loop-carried
// sequence and stacked scan outputs, Scan in both forms, SequenceMap, control flow nested in
// control flow, and sequence/optional model inputs and outputs.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "compiler/compile.h"
#include "reference/interpreter.h"
#include "support/error.h"
#include "tools/runtime_session.h"
#include "tools/tolerance.h"

namespace eave {
namespace {

Type tensor(DType dt, std::vector<Dim> dims) { return Type::tensor(dt, Shape(std::move(dims))); }
Type seq(DType dt, std::vector<Dim> dims) { return Type::sequence(tensor(dt, std::move(dims))); }

std::unique_ptr<Model> new_model(int64_t opset) {
  auto m = std::make_unique<Model>();
  m->opsets[""] = opset;
  m->graph = std::make_shared<Graph>("main");
  m->graph->set_model(m.get());
  return m;
}

// A node with `outputs` fresh values named name_0, name_1, ...
Node* add(Graph& g, OpKind k, std::vector<Value*> ins, size_t outputs, const std::string& name) {
  std::vector<Value*> outs;
  for (size_t i = 0; i < outputs; ++i) outs.push_back(g.add_value(name + "_" + std::to_string(i)));
  return g.add_node(k, std::move(ins), std::move(outs), name);
}

void attach(Node* n, const std::string& attr, std::shared_ptr<Graph> sub) {
  n->set_attr(attr, Attribute::of_graph(sub));
  sub->set_parent_node(n);
}

// An If of one output over the two branches, which is g's next output.
void output_if(Graph& g, Value* c, std::shared_ptr<Graph> then_g, std::shared_ptr<Graph> else_g) {
  Node* n = add(g, OpKind::If, {c}, 1, "if");
  attach(n, "then_branch", std::move(then_g));
  attach(n, "else_branch", std::move(else_g));
  g.add_output(n->output(0));
}

// Compiles a fresh model from `build` (compiling rewrites it) and runs it through the runtime;
// the reference interpreter runs another; every output must match exactly.
void expect_matches_reference(const std::function<std::unique_ptr<Model>()>& build,
                              const ref::NamedValues& inputs) {
  std::unique_ptr<Model> reference = build();
  std::vector<ValueData> want = ref::run_model(*reference, inputs);
  std::unique_ptr<Model> m = build();
  CompileOptions o;
  o.generate_kernels = false;
  CompiledModel c = compile_model(*m, o);
  RuntimeSession s(RuntimeModel::load_memory(std::move(c.artifact)), 1);
  std::vector<ValueData> got = s.run_values(inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(compare_values(got[i], want[i], Tolerance{0, 0}), "") << "output " << i;
}

Tensor f32s(std::vector<int64_t> dims, std::vector<float> v) {
  return Tensor::from_vector<float>(std::move(dims), v);
}

// y = If(c) then NonZero(x) (i64 [1, count]) else the constant [[7, 8, 9]]: the output's
// length depends on the branch and on x.
std::unique_ptr<Model> if_model() {
  auto m = new_model(13);
  Graph& g = *m->graph;
  Value* c = g.add_input("c", tensor(DType::Bool, {}));
  Value* x = g.add_input("x", tensor(DType::F32, {Dim::symbol("n")}));
  auto then_g = std::make_shared<Graph>("then");
  Node* nz = add(*then_g, OpKind::NonZero, {x}, 1, "nz");
  then_g->add_output(nz->output(0));
  auto else_g = std::make_shared<Graph>("else");
  Value* k = else_g->add_constant("k", Tensor::from_vector<int64_t>({1, 3}, {7, 8, 9}));
  Node* id = add(*else_g, OpKind::Identity, {k}, 1, "id");
  else_g->add_output(id->output(0));
  output_if(g, c, then_g, else_g);
  return m;
}

TEST(EmitControlFlow, IfBranchesWithDataDependentShapes) {
  for (bool c : {true, false, true})
    expect_matches_reference(if_model, {{"c", Tensor::scalar<bool>(c)},
                                        {"x", f32s({5}, {0, 1.5f, 0, 2, c ? 3.0f : 0.0f})}});
}

// seq, counts = Loop(M) { seq' = SequenceInsert(seq, x); count = SequenceLength(seq') } from
// an empty sequence; cat = ConcatFromSequence(seq). The body captures x from main, and the
// stacked scan output's length is the trip count M, an input.
std::unique_ptr<Model> loop_model() {
  auto m = new_model(13);
  Graph& g = *m->graph;
  Value* M = g.add_input("M", tensor(DType::I64, {}));
  Value* x = g.add_input("x", tensor(DType::F32, {Dim::symbol("n")}));
  Node* empty = add(g, OpKind::SequenceEmpty, {}, 1, "empty");
  empty->set_attr("dtype", Attribute::of_int(1));
  auto body = std::make_shared<Graph>("body");
  body->add_input("iter", tensor(DType::I64, {}));
  Value* cond = body->add_input("cond_in", tensor(DType::Bool, {}));
  Value* s = body->add_input("s", seq(DType::F32, {Dim::symbol("k")}));
  Node* cond_out = add(*body, OpKind::Identity, {cond}, 1, "cond_out");
  Node* insert = add(*body, OpKind::SequenceInsert, {s, x}, 1, "insert");
  Node* length = add(*body, OpKind::SequenceLength, {insert->output(0)}, 1, "length");
  body->add_output(cond_out->output(0));
  body->add_output(insert->output(0));
  body->add_output(length->output(0));
  Node* loop = add(g, OpKind::Loop, {M, nullptr, empty->output(0)}, 2, "loop");
  attach(loop, "body", body);
  Node* cat = add(g, OpKind::ConcatFromSequence, {loop->output(0)}, 1, "cat");
  cat->set_attr("axis", Attribute::of_int(0));
  g.add_output(loop->output(0));
  g.add_output(loop->output(1));
  g.add_output(cat->output(0));
  return m;
}

TEST(EmitControlFlow, LoopCarriesASequenceAndStacksScanOutputs) {
  for (int64_t trips : {3, 1, 4})
    expect_matches_reference(loop_model, {{"M", Tensor::scalar<int64_t>(trips)},
                                          {"x", f32s({2}, {1.5f, -2})}});
}

// final, ys = Scan(init, xs) { s' = Identity(row); y = Identity(s) }: each step passes the row
// on and gives the previous one, over xs [2, L] along axis 1 from the back, stacked along
// axis 1 in reverse (opset 11), or over xs [B, L, 2] per batch entry with lengths (opset 8).
std::unique_ptr<Model> scan_model(int64_t opset) {
  auto m = new_model(opset);
  Graph& g = *m->graph;
  bool v8 = opset < 9;
  Value* lens = v8 ? g.add_input("lens", tensor(DType::I64, {2})) : nullptr;
  Value* init = g.add_input("init", tensor(DType::F32, v8 ? std::vector<Dim>{2, 2} : std::vector<Dim>{2}));
  Value* xs = g.add_input("xs", tensor(DType::F32, v8 ? std::vector<Dim>{2, 3, 2}
                                                      : std::vector<Dim>{2, Dim::symbol("L")}));
  auto body = std::make_shared<Graph>("body");
  Value* s = body->add_input("s", tensor(DType::F32, {2}));
  Value* row = body->add_input("row", tensor(DType::F32, {2}));
  Node* next = add(*body, OpKind::Identity, {row}, 1, "next");
  Node* y = add(*body, OpKind::Identity, {s}, 1, "y");
  body->add_output(next->output(0));
  body->add_output(y->output(0));
  std::vector<Value*> ins = {init, xs};
  if (v8) ins.insert(ins.begin(), lens);
  Node* scan = add(g, OpKind::Scan, ins, 2, "scan");
  attach(scan, "body", body);
  scan->set_attr("num_scan_inputs", Attribute::of_int(1));
  if (v8) {
    scan->set_attr("directions", Attribute::of_ints({1}));
  } else {
    scan->set_attr("scan_input_axes", Attribute::of_ints({1}));
    scan->set_attr("scan_input_directions", Attribute::of_ints({1}));
    scan->set_attr("scan_output_axes", Attribute::of_ints({1}));
    scan->set_attr("scan_output_directions", Attribute::of_ints({1}));
  }
  g.add_output(scan->output(0));
  g.add_output(scan->output(1));
  return m;
}

TEST(EmitControlFlow, ScanAlongAnAxisInReverse) {
  for (int64_t len : {4, 1}) {
    std::vector<float> xs(size_t(2 * len));
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = float(i + 1);
    expect_matches_reference([] { return scan_model(11); },
                             {{"init", f32s({2}, {-1, -2})}, {"xs", f32s({2, len}, xs)}});
  }
}

TEST(EmitControlFlow, ScanOpset8PerBatchEntry) {
  expect_matches_reference([] { return scan_model(8); },
                           {{"lens", Tensor::from_vector<int64_t>({2}, {3, 2})},
                            {"init", f32s({2, 2}, {-1, -2, -3, -4})},
                            {"xs", f32s({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})}});
}

// nz, w = SequenceMap(xs) { NonZero(x); Identity(w) } with w captured from main.
std::unique_ptr<Model> sequence_map_model() {
  auto m = new_model(17);
  Graph& g = *m->graph;
  Value* xs = g.add_input("xs", seq(DType::F32, {Dim::symbol("N")}));
  Value* w = g.add_input("w", tensor(DType::I64, {2}));
  auto body = std::make_shared<Graph>("body");
  Value* x = body->add_input("x", tensor(DType::F32, {Dim::symbol("N")}));
  Node* nz = add(*body, OpKind::NonZero, {x}, 1, "nz");
  Node* id = add(*body, OpKind::Identity, {w}, 1, "w_copy");
  body->add_output(nz->output(0));
  body->add_output(id->output(0));
  Node* map = add(g, OpKind::SequenceMap, {xs}, 2, "map");
  attach(map, "body", body);
  g.add_output(map->output(0));
  g.add_output(map->output(1));
  return m;
}

TEST(EmitControlFlow, SequenceMapWithACaptureAndDataDependentElements) {
  expect_matches_reference(
      sequence_map_model,
      {{"xs", ValueData::of_sequence({f32s({3}, {1, 0, 2}), f32s({0}, {}), f32s({2}, {0, 5})})},
       {"w", Tensor::from_vector<int64_t>({2}, {4, 2})}});
}

// y = If(c) then { Loop(M) { s' = SequenceInsert(s, x) } from [x] -> ConcatFromSequence }
// else { Identity(x) }: the loop body reads x two programs up, through the branch.
std::unique_ptr<Model> nested_model() {
  auto m = new_model(13);
  Graph& g = *m->graph;
  Value* c = g.add_input("c", tensor(DType::Bool, {}));
  Value* M = g.add_input("M", tensor(DType::I64, {}));
  Value* x = g.add_input("x", tensor(DType::F32, {3}));
  auto then_g = std::make_shared<Graph>("then");
  Node* start = add(*then_g, OpKind::SequenceConstruct, {x}, 1, "start");
  auto body = std::make_shared<Graph>("body");
  body->add_input("iter", tensor(DType::I64, {}));
  Value* cond = body->add_input("cond_in", tensor(DType::Bool, {}));
  Value* s = body->add_input("s", seq(DType::F32, {3}));
  Node* cond_out = add(*body, OpKind::Identity, {cond}, 1, "cond_out");
  Node* insert = add(*body, OpKind::SequenceInsert, {s, x}, 1, "insert");
  body->add_output(cond_out->output(0));
  body->add_output(insert->output(0));
  Node* loop = add(*then_g, OpKind::Loop, {M, nullptr, start->output(0)}, 1, "loop");
  attach(loop, "body", body);
  Node* cat = add(*then_g, OpKind::ConcatFromSequence, {loop->output(0)}, 1, "cat");
  cat->set_attr("axis", Attribute::of_int(0));
  then_g->add_output(cat->output(0));
  auto else_g = std::make_shared<Graph>("else");
  Node* id = add(*else_g, OpKind::Identity, {x}, 1, "id");
  else_g->add_output(id->output(0));
  output_if(g, c, then_g, else_g);
  return m;
}

TEST(EmitControlFlow, LoopInsideABranchCapturesThroughIt) {
  for (bool c : {true, false})
    for (int64_t trips : {0, 2})
      expect_matches_reference(nested_model, {{"c", Tensor::scalar<bool>(c)},
                                              {"M", Tensor::scalar<int64_t>(trips)},
                                              {"x", f32s({3}, {1, 2, 3})}});
}

// Sequence and optional inputs and outputs: at = SequenceAt(s, -1), s2 = SequenceErase(s),
// has = OptionalHasElement(o), got = OptionalGetElement(o), wrapped = Optional(at).
std::unique_ptr<Model> list_io_model() {
  auto m = new_model(16);
  Graph& g = *m->graph;
  Value* s = g.add_input("s", seq(DType::I64, {Dim::symbol("k")}));
  Value* o = g.add_input("o", Type::optional(seq(DType::I64, {Dim::symbol("k")})));
  Value* pos = g.add_constant("pos", Tensor::scalar<int64_t>(-1));
  Node* at = add(g, OpKind::SequenceAt, {s, pos}, 1, "at");
  Node* erase = add(g, OpKind::SequenceErase, {s}, 1, "erase");
  Node* has = add(g, OpKind::OptionalHasElement, {o}, 1, "has");
  Node* wrap = add(g, OpKind::Optional, {at->output(0)}, 1, "wrap");
  Node* id = add(g, OpKind::Identity, {s}, 1, "same");
  for (Node* n : {at, erase, has, wrap, id}) g.add_output(n->output(0));
  return m;
}

TEST(EmitControlFlow, SequenceAndOptionalInputsAndOutputs) {
  ValueData s = ValueData::of_sequence({Tensor::from_vector<int64_t>({2}, {1, 2}),
                                        Tensor::from_vector<int64_t>({1}, {3})});
  expect_matches_reference(list_io_model, {{"s", s}, {"o", s}});
  expect_matches_reference(list_io_model, {{"s", s}, {"o", ValueData::none()}});
}

TEST(EmitControlFlow, UnsupportedTypesAreNamed) {
  auto m = new_model(13);
  Graph& g = *m->graph;
  Value* s = g.add_input("s", Type::sequence(seq(DType::F32, {2})));  // a sequence of sequences
  Node* id = add(g, OpKind::Identity, {s}, 1, "id");
  g.add_output(id->output(0));
  CompileOptions o;
  o.generate_kernels = false;
  try {
    compile_model(*m, o);
    FAIL() << "compiled a sequence of sequences";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("input 's' is a seq<seq<f32[2]>>"), std::string::npos)
        << e.what();
  }
}

// y = If(c) then Squeeze(x, [0]) else Identity(x), compiled for x [3, 4]: the then branch
// cannot run with that shape, so the compiled model is the else branch behind a CHECK step.
// A run whose condition is true stops with a message naming the If, instead of computing
// something else.
TEST(EmitControlFlow, UnreachableBranchIsCheckedAtRunTime) {
  auto build = [] {
    auto m = new_model(13);
    Graph& g = *m->graph;
    Value* c = g.add_input("c", tensor(DType::Bool, {}));
    Value* x = g.add_input("x", tensor(DType::F32, {3, 4}));
    auto then_g = std::make_shared<Graph>("then");
    Value* axes = then_g->add_constant("axes", Tensor::from_vector<int64_t>({1}, {0}));
    then_g->add_output(add(*then_g, OpKind::Squeeze, {x, axes}, 1, "squeeze")->output(0));
    auto else_g = std::make_shared<Graph>("else");
    else_g->add_output(add(*else_g, OpKind::Identity, {x}, 1, "id")->output(0));
    output_if(g, c, then_g, else_g);
    return m;
  };
  Tensor x = f32s({3, 4}, std::vector<float>(12, 1.5f));
  expect_matches_reference(build, {{"c", Tensor::scalar<bool>(false)}, {"x", x}});

  auto m = build();
  CompileOptions o;
  o.generate_kernels = false;
  CompiledModel compiled = compile_model(*m, o);
  RuntimeSession s(RuntimeModel::load_memory(std::move(compiled.artifact)), 1);
  try {
    s.run_values({{"c", Tensor::scalar<bool>(true)}, {"x", x}});
    FAIL() << "ran the branch the model was not compiled for";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("then branch was taken"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eave
