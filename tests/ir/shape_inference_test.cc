#include "ir/shape_inference.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "import/onnx_importer.h"

namespace eave {
namespace {

const Dim batch = Dim::symbol("batch");
const Dim seq = Dim::symbol("seq");

struct Builder {
  Model m;
  Graph* g;
  Builder() {
    m.opsets[""] = 17;
    m.graph = std::make_shared<Graph>("g");
    m.graph->set_model(&m);
    g = m.graph.get();
  }
  Value* input(const std::string& name, DType dt, std::vector<Dim> dims) {
    return g->add_input(name, Type::tensor(dt, Shape(std::move(dims))));
  }
  Value* constant(const std::string& name, std::vector<int64_t> v) {
    return g->add_constant(name, Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  }
  Value* node(OpKind k, std::vector<Value*> ins, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
    Node* n = g->create_node(k, std::move(ins), 1, nullptr);
    for (auto& [name, a] : attrs) n->set_attr(name, a);
    infer_node(*n);
    return n->output(0);
  }
};

TEST(ShapeInference, SymbolicDimsFlowThroughShapeArithmeticIntoReshape) {
  Builder b;
  Value* x = b.input("x", DType::F32, {batch, seq, Dim(768)});
  Value* shape = b.node(OpKind::Shape, {x});
  EXPECT_EQ(*shape->sym_data(), (std::vector<Dim>{batch, seq, Dim(768)}));
  Value* b0 = b.node(OpKind::Gather, {shape, b.constant("i0", {0})}, {{"axis", Attribute::of_int(0)}});
  Value* s1 = b.node(OpKind::Slice, {shape, b.constant("st", {1}), b.constant("en", {2})});
  Value* heads = b.constant("heads", {12, 64});
  Value* target = b.node(OpKind::Concat, {b0, s1, heads}, {{"axis", Attribute::of_int(0)}});
  EXPECT_EQ(*target->sym_data(), (std::vector<Dim>{batch, seq, Dim(12), Dim(64)}));
  Value* y = b.node(OpKind::Reshape, {x, target});
  EXPECT_EQ(y->type().str(), "f32[batch,seq,12,64]");
  Value* t = b.node(OpKind::Transpose, {y}, {{"perm", Attribute::of_ints({0, 2, 1, 3})}});
  EXPECT_EQ(t->shape(), Shape({batch, Dim(12), seq, Dim(64)}));
}

// A causal mask cut to the sequence: ends that are shape values give symbolic extents.
TEST(ShapeInference, SliceToSymbolicEnds) {
  Builder b;
  Value* x = b.input("x", DType::F32, {batch, seq});
  Value* mask = b.input("mask", DType::Bool, {Dim(256), Dim(256)});
  Value* shape = b.node(OpKind::Shape, {x});
  Value* end = b.node(OpKind::Slice, {shape, b.constant("st", {1}), b.constant("en", {2})});
  Value* rows = b.node(OpKind::Slice, {mask, b.constant("z", {0}), end, b.constant("a0", {0})});
  EXPECT_EQ(rows->shape(), Shape({seq, Dim(256)}));
  Value* cut = b.node(OpKind::Slice, {rows, b.constant("o", {1}), end, b.constant("a1", {1}),
                                      b.constant("s2", {2})});
  EXPECT_EQ(cut->shape(), Shape({seq, Dim::ceildiv(seq - Dim(1), Dim(2))}));
}

TEST(ShapeInference, ReshapeInfersMinusOneSymbolically) {
  Builder b;
  Value* x = b.input("x", DType::F32, {batch, seq, Dim(768)});
  Value* y = b.node(OpKind::Reshape, {x, b.constant("s", {0, 0, -1, 64})});
  EXPECT_EQ(y->shape(), Shape({batch, seq, Dim(12), Dim(64)}));
  Value* flat = b.node(OpKind::Reshape, {x, b.constant("f", {-1, 768})});
  EXPECT_EQ(flat->shape(), Shape({batch * seq, Dim(768)}));
}

TEST(ShapeInference, ConcatAddsSymbolicDims) {
  Builder b;
  Value* past = b.input("past", DType::F32, {batch, seq, Dim(4)});
  Value* cur = b.input("cur", DType::F32, {batch, Dim(1), Dim(4)});
  Value* y = b.node(OpKind::Concat, {past, cur}, {{"axis", Attribute::of_int(1)}});
  EXPECT_EQ(y->shape(), Shape({batch, seq + Dim(1), Dim(4)}));
}

// Einsum as numpy: labels take their dims (spaces allowed, as torch writes them), `...`
// broadcasts right-aligned, and without `->` the output is `...` then the labels used once.
TEST(ShapeInference, Einsum) {
  auto einsum = [](const std::string& eq, std::vector<std::vector<Dim>> shapes) {
    Builder b;
    std::vector<Value*> ins;
    for (size_t i = 0; i < shapes.size(); ++i)
      ins.push_back(b.input("x" + std::to_string(i), DType::F32, shapes[i]));
    return b.node(OpKind::Einsum, ins, {{"equation", Attribute::of_string(eq)}})->type().str();
  };
  EXPECT_EQ(einsum("B G H I D, B G H J D -> B G H I J", {{batch, 4, 2, 49, 32}, {batch, 4, 2, 49, 32}}),
            "f32[batch,4,2,49,49]");
  EXPECT_EQ(einsum("ij,jk", {{3, 4}, {4, 5}}), "f32[3,5]");
  EXPECT_EQ(einsum("ba,cb", {{3, 4}, {5, 3}}), "f32[4,5]");  // implicit: alphabetical
  EXPECT_EQ(einsum("...ij,...jk->...ik", {{2, 1, 3, 4}, {5, 4, 6}}), "f32[2,5,3,6]");
  EXPECT_EQ(einsum("ii->i", {{seq, seq}}), "f32[seq]");
  EXPECT_THROW(einsum("ij,jk->il", {{3, 4}, {4, 5}}), Error);
  EXPECT_THROW(einsum("ijk->i", {{3, 4}}), Error);
}

TEST(ShapeInference, BroadcastKeepsSymbolsAndConstants) {
  Builder b;
  Value* a = b.input("a", DType::F32, {batch, Dim(1), seq});
  Value* c = b.input("c", DType::F32, {Dim(5), Dim(1)});
  Value* y = b.node(OpKind::Add, {a, c});
  EXPECT_EQ(y->shape(), Shape({batch, Dim(5), seq}));
  Value* bad = b.input("bad", DType::F32, {Dim(3), Dim(2)});
  Value* ok = b.input("ok", DType::F32, {Dim(4), Dim(2)});
  EXPECT_THROW(b.node(OpKind::Add, {bad, ok}), Error);
}

TEST(ShapeInference, ConvAndPoolWithSymbolicBatchAndSpatialDims) {
  Builder b;
  Dim h = Dim::symbol("h");
  Value* x = b.input("x", DType::F32, {batch, Dim(3), h, Dim(224)});
  Value* w = b.g->add_constant("w", Tensor(DType::F32, {64, 3, 7, 7}));
  Value* y = b.node(OpKind::Conv, {x, w},
                    {{"strides", Attribute::of_ints({2, 2})}, {"pads", Attribute::of_ints({3, 3, 3, 3})}});
  EXPECT_EQ(y->shape(), Shape({batch, Dim(64), Dim::floordiv(h - Dim(1), Dim(2)) + Dim(1), Dim(112)}));
  Value* p = b.node(OpKind::MaxPool, {y},
                    {{"kernel_shape", Attribute::of_ints({3, 3})},
                     {"strides", Attribute::of_ints({2, 2})},
                     {"pads", Attribute::of_ints({1, 1, 1, 1})}});
  EXPECT_EQ(p->shape()[3], Dim(56));
}

TEST(ShapeInference, MatMulBroadcastsBatchDims) {
  Builder b;
  Value* q = b.input("q", DType::F32, {batch, Dim(12), seq, Dim(64)});
  Value* k = b.input("k", DType::F32, {batch, Dim(12), Dim(64), seq});
  Value* s = b.node(OpKind::MatMul, {q, k});
  EXPECT_EQ(s->shape(), Shape({batch, Dim(12), seq, seq}));
  Value* bad = b.input("bad", DType::F32, {Dim(63), seq});
  EXPECT_THROW(b.node(OpKind::MatMul, {q, bad}), Error);
}

// Every output type shape inference derives for the ONNX backend test models must agree with
// the expected outputs stored next to them.
TEST(ShapeInference, InsertingIntoAFreshSequenceGivesItsElementType) {
  Builder b;
  Value* x = b.input("x", DType::F32, {batch, Dim(3)});
  Value* y = b.input("y", DType::F32, {Dim(2), Dim(3)});
  Value* empty = b.g->create_node(OpKind::SequenceEmpty, {}, 1, nullptr)->output(0);
  empty->set_type(Type::sequence(Type::tensor(DType::F32, Shape())));  // as ONNX infers it
  Value* s1 = b.node(OpKind::SequenceInsert, {empty, x});
  EXPECT_EQ(s1->type().str(), "seq<f32[batch,3]>");
  Value* s2 = b.node(OpKind::SequenceInsert, {s1, y});
  ASSERT_TRUE(s2->type().elem && s2->type().elem->shape.has_rank());
  EXPECT_FALSE(s2->type().elem->shape[0].is_const());  // batch or 2: a fresh dim
  EXPECT_EQ(s2->type().elem->shape[1], Dim(3));
}

TEST(ShapeInference, LoopCarriedSequenceStartingEmptyTakesTheInsertedType) {
  Builder b;
  Value* x = b.input("x", DType::F32, {Dim(4)});
  Value* M = b.input("M", DType::I64, {});
  Value* empty = b.g->create_node(OpKind::SequenceEmpty, {}, 1, nullptr)->output(0);
  empty->set_type(Type::sequence(Type::tensor(DType::F32, Shape())));
  auto body = std::make_shared<Graph>("body");
  body->add_input("iter", Type{});
  Value* cond = body->add_input("cond", Type{});
  Value* s = body->add_input("s", Type{});
  Node* keep = body->create_node(OpKind::Identity, {cond}, 1, nullptr, "keep");
  Node* insert = body->create_node(OpKind::SequenceInsert, {s, x}, 1, nullptr, "insert");
  body->add_output(keep->output(0));
  body->add_output(insert->output(0));
  Node* loop = b.g->create_node(OpKind::Loop, {M, nullptr, empty}, 1, nullptr, "loop");
  loop->set_attr("body", Attribute::of_graph(body));
  body->set_parent_node(loop);
  infer_node(*loop);
  EXPECT_EQ(loop->output(0)->type().str(), "seq<f32[4]>");
}

TEST(ShapeInference, AgreesWithConformanceExpectedOutputs) {
  namespace fs = std::filesystem;
  std::string root = "/usr/share/libonnx-testdata/data";
  if (!fs::exists(root)) GTEST_SKIP() << "libonnx-testdata not installed";
  int checked = 0;
  std::vector<std::string> mismatches;
  for (const char* suite : {"node", "simple", "pytorch-converted", "pytorch-operator"}) {
    for (const auto& e : fs::directory_iterator(fs::path(root) / suite)) {
      auto m = import_onnx_file((e.path() / "model.onnx").string());
      const Graph& g = *m->graph;
      for (size_t i = 0; i < g.outputs().size(); ++i) {
        fs::path f = e.path() / "test_data_set_0" / ("output_" + std::to_string(i) + ".pb");
        const Type& t = g.outputs()[i]->type();
        if (!fs::exists(f) || !t.is_tensor() || !t.shape.has_rank()) continue;
        ValueData v = read_onnx_value_file(f.string(), t);
        if (!v.is_tensor()) continue;
        ++checked;
        bool bf16_bits = t.dtype == DType::BF16 && v.tensor.dtype() == DType::U16;
        bool ok = (t.dtype == v.tensor.dtype() || bf16_bits) && t.shape.rank() == v.tensor.rank();
        for (size_t d = 0; ok && d < t.shape.rank(); ++d)
          ok = !t.shape[d].is_const() || t.shape[d].value() == v.tensor.dim(d);
        if (!ok)
          mismatches.push_back(e.path().filename().string() + ": inferred " + t.str() + ", expected " +
                               dtype_name(v.tensor.dtype()) + dims_str(v.tensor.dims()));
      }
    }
  }
  EXPECT_GT(checked, 1000);
  for (const auto& m : mismatches) ADD_FAILURE() << m;
}

}  // namespace
}  // namespace eave
