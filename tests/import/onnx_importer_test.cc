#include "import/onnx_importer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "import/onnx_tensor.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "reference/interpreter.h"
#include "support/mapped_file.h"

namespace eave {
namespace {

namespace fs = std::filesystem;

// A small ONNX model built directly in protobuf: y = Relu(x + b), x: f32[batch, 4].
struct ProtoModel {
  onnx::ModelProto m;
  ProtoModel(int64_t opset = 17) {
    m.set_ir_version(8);
    auto* o = m.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    auto* g = m.mutable_graph();
    g->set_name("g");
    add_input("x", {-1, 4});
    auto* b = g->add_initializer();
    b->set_name("b");
    b->set_data_type(onnx::TensorProto::FLOAT);
    b->add_dims(4);
    for (float v : {1.f, -2.f, 3.f, -4.f}) b->add_float_data(v);
    add_node("Add", {"x", "b"}, {"s"}, "add");
    add_node("Relu", {"s"}, {"y"}, "relu");
    g->add_output()->set_name("y");
  }
  void add_input(const std::string& name, std::vector<int64_t> dims) {
    auto* in = m.mutable_graph()->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      auto* dp = tt->mutable_shape()->add_dim();
      if (d < 0) dp->set_dim_param("batch");
      else dp->set_dim_value(d);
    }
  }
  onnx::NodeProto* add_node(const std::string& op, std::vector<std::string> ins,
                            std::vector<std::string> outs, const std::string& name) {
    auto* n = m.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : ins) n->add_input(s);
    for (auto& s : outs) n->add_output(s);
    return n;
  }
  std::string bytes() const { return m.SerializeAsString(); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_contains(const std::string& s, const std::string& part) {
  EXPECT_NE(s.find(part), std::string::npos) << "message: " << s << "\nexpected to contain: " << part;
}

TEST(Importer, ImportsAndRuns) {
  auto model = import_onnx_bytes(ProtoModel().bytes());
  verify(*model);
  EXPECT_EQ(model->graph->outputs()[0]->type().str(), "f32[batch,4]");
  Tensor x = Tensor::from_vector<float>({2, 4}, {0, 0, 0, 0, 1, 1, 1, 1});
  auto out = ref::run_model(*model, {{"x", x}});
  EXPECT_EQ(out[0].tensor.to_int_vector(), (std::vector<int64_t>{1, 0, 3, 0, 2, 0, 4, 0}));
}

TEST(Importer, NodesOutOfOrderAreSorted) {
  ProtoModel p;
  auto* nodes = p.m.mutable_graph()->mutable_node();
  nodes->SwapElements(0, 1);
  auto model = import_onnx_bytes(p.bytes());
  verify(*model);
  EXPECT_EQ(model->graph->nodes().front()->op_type(), "Add");
}

TEST(Importer, ConstantNodesBecomeConstants) {
  ProtoModel p;
  auto* c = p.add_node("Constant", {}, {"k"}, "k");
  auto* a = c->add_attribute();
  a->set_name("value_floats");
  a->set_type(onnx::AttributeProto::FLOATS);
  for (float v : {1.f, 2.f, 3.f, 4.f}) a->add_floats(v);
  p.m.mutable_graph()->mutable_node(1)->set_input(0, "k");  // Relu(k)
  auto model = import_onnx_bytes(p.bytes());
  Value* k = model->graph->find_value("k");
  ASSERT_NE(k, nullptr);
  ASSERT_TRUE(k->is_constant());
  EXPECT_EQ(k->constant()->numel(), 4);
}

TEST(Importer, ExternalDataIsMappedAndRoundTrips) {
  fs::path dir = fs::temp_directory_path() / ("eave_ext_" + std::to_string(getpid()));
  fs::create_directories(dir);
  ProtoModel p;
  std::string data;
  auto* b = p.m.mutable_graph()->mutable_initializer(0);
  b->clear_float_data();
  b->clear_dims();
  b->add_dims(4);
  std::vector<float> vals = {1.f, -2.f, 3.f, -4.f};
  data.assign(64, '\0');
  data.append(reinterpret_cast<const char*>(vals.data()), 16);
  b->set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char* k, const std::string& v) {
    auto* e = b->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  kv("location", "weights.bin");
  kv("offset", "64");
  kv("length", "16");
  write_file((dir / "weights.bin").string(), data);
  write_file((dir / "m.onnx").string(), p.bytes());
  auto model = import_onnx_file((dir / "m.onnx").string());
  const Tensor* t = model->graph->find_value("b")->constant();
  EXPECT_EQ(t->to_int_vector(), (std::vector<int64_t>{1, -2, 3, -4}));
  EXPECT_FALSE(t->storage()->writable());  // mapped, not copied

  // Export and re-import gives the same graph.
  export_onnx_file(*model, (dir / "again.onnx").string());
  auto again = import_onnx_file((dir / "again.onnx").string());
  EXPECT_EQ(print_graph(*again->graph), print_graph(*model->graph));

  // An offset past the end of the data file is an error, not a crash.
  b->mutable_external_data(1)->set_value("4096");
  write_file((dir / "bad.onnx").string(), p.bytes());
  expect_contains(error_of([&] { import_onnx_file((dir / "bad.onnx").string()); }),
                  "past the end of");
  // So is a location that leaves the model's folder.
  b->mutable_external_data(0)->set_value("../../etc/passwd");
  write_file((dir / "bad2.onnx").string(), p.bytes());
  expect_contains(error_of([&] { import_onnx_file((dir / "bad2.onnx").string()); }),
                  "leaves the model's folder");
  fs::remove_all(dir);
}

// Models over protobuf's 2 GB limit keep their weights in external files; those are mapped, so a
// 2.25 GB weight (a sparse file here: no disk is used) imports without being read or copied.
TEST(Importer, ExternalWeightsOverTwoGigabytes) {
  fs::path dir = fs::temp_directory_path() / ("eave_big_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const int64_t n = int64_t(9) << 26;  // 603,979,776 floats = 2.25 GiB
  ProtoModel p;
  auto* b = p.m.mutable_graph()->mutable_initializer(0);
  b->clear_float_data();
  b->clear_dims();
  b->add_dims(n / 4);
  b->add_dims(4);
  b->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = b->add_external_data();
  e->set_key("location");
  e->set_value("big.bin");
  {
    std::ofstream f(dir / "big.bin", std::ios::binary);
    f.seekp(n * 4 - 1);
    f.put('\0');
  }
  write_file((dir / "m.onnx").string(), p.bytes());
  auto model = import_onnx_file((dir / "m.onnx").string());
  const Tensor* t = model->graph->find_value("b")->constant();
  EXPECT_EQ(t->numel(), n);
  EXPECT_EQ(t->nbytes(), size_t(n) * 4);
  EXPECT_FALSE(t->storage()->writable());
  model.reset();
  fs::remove_all(dir);
}

TEST(ImporterErrors, TruncatedFile) {
  std::string bytes = ProtoModel().bytes();
  int errors = 0;
  for (size_t n = 0; n < bytes.size(); n += 7) {
    try {
      import_onnx_bytes(bytes.substr(0, n));
    } catch (const Error& e) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  expect_contains(error_of([&] { import_onnx_bytes(bytes.substr(0, bytes.size() - 3)); }),
                  "not a valid ONNX protobuf file (truncated or corrupt)");
}

TEST(ImporterErrors, NotProtobuf) {
  expect_contains(error_of([] { import_onnx_bytes("this is plain text, not a model\n"); }),
                  "not a valid ONNX");
  expect_contains(error_of([] { import_onnx_file("/nonexistent/model.onnx"); }),
                  "cannot open '/nonexistent/model.onnx'");
}

TEST(ImporterErrors, UnknownOpNamesNodeAndOp) {
  ProtoModel p;
  p.m.mutable_graph()->mutable_node(1)->set_op_type("Frobnicate");
  EXPECT_EQ(error_of([&] { import_onnx_bytes(p.bytes()); }),
            "node 'relu' (Frobnicate): unknown op 'Frobnicate' in domain ai.onnx");
}

TEST(ImporterErrors, CustomDomain) {
  ProtoModel p;
  p.m.mutable_graph()->mutable_node(1)->set_domain("com.example");
  expect_contains(error_of([&] { import_onnx_bytes(p.bytes()); }),
                  "node 'relu' (com.example.Relu): custom domain 'com.example' is not supported");
}

TEST(ImporterErrors, UnsupportedOpset) {
  EXPECT_EQ(error_of([] { import_onnx_bytes(ProtoModel(99).bytes()); }),
            "model: unsupported opset 99 for domain ai.onnx (eave supports 1 to 21)");
}

TEST(ImporterErrors, MissingInitializer) {
  ProtoModel p;
  p.m.mutable_graph()->clear_initializer();
  EXPECT_EQ(error_of([&] { import_onnx_bytes(p.bytes()); }),
            "node 'add' (Add): input 'b' is not produced by any node, graph input or initializer");
}

TEST(ImporterErrors, ShapeMismatchNamesNode) {
  ProtoModel p;
  p.m.mutable_graph()->mutable_initializer(0)->set_dims(0, 4);
  auto* b = p.m.mutable_graph()->mutable_initializer(0);
  b->clear_dims();
  b->add_dims(2);
  b->add_dims(2);
  // x: [batch, 4] + b: [2, 2] cannot broadcast.
  expect_contains(error_of([&] { import_onnx_bytes(p.bytes()); }),
                  "node 'add' (Add): shapes [batch,4] and [2,2] cannot be broadcast together");
}

TEST(RunErrors, WrongInputs) {
  auto model = import_onnx_bytes(ProtoModel().bytes());
  Tensor good = Tensor::from_vector<float>({1, 4}, {1, 2, 3, 4});
  EXPECT_EQ(error_of([&] { ref::run_model(*model, {}); }), "missing input 'x' (f32[batch,4])");
  EXPECT_EQ(error_of([&] { ref::run_model(*model, {{"x", good}, {"z", good}}); }),
            "unknown input 'z'; the model's inputs are: x");
  EXPECT_EQ(error_of([&] { ref::run_model(*model, {{"x", good.cast(DType::F64)}}); }),
            "input 'x' expects element type f32, got f64");
  EXPECT_EQ(error_of([&] { ref::run_model(*model, {{"x", Tensor(DType::F32, {4})}}); }),
            "input 'x' expects rank 2 ([batch,4]), got shape [4]");
  EXPECT_EQ(error_of([&] { ref::run_model(*model, {{"x", Tensor(DType::F32, {1, 5})}}); }),
            "input 'x' dimension 1 must be 4 ([batch,4]), got shape [1,5]");
}

}  // namespace
}  // namespace eave

namespace eave {
namespace {

// Inputs the fuzzers found crashes with (fuzz/regressions/import/, one file each): each must
// now import with shape inference or fail with an eave::Error, as the fuzz target requires.
TEST(Importer, FuzzerRegressionsGiveAModelOrAnError) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(EAVE_SOURCE_DIR) / "fuzz" / "regressions" / "import";
  size_t cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    ++cases;
    try {
      auto m = import_onnx_bytes(bytes, "/nonexistent-fuzz-dir");
      verify(*m);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()), "") << entry.path();
    }
  }
  EXPECT_GT(cases, 0u);
}

}  // namespace
}  // namespace eave
