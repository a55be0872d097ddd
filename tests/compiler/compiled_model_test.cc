// End-to-end tests of compiled models through the runtime: dynamic dims, bounds, bad inputs
// at run time (each message checked), NaN and Inf propagation.
#include <cmath>
#include <limits>

#include "compiler/compile.h"
#include "lowering/mlir_kernel_generator.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"

namespace eave {
namespace {

using testing::GraphBuilder;

struct Compiled {
  std::unique_ptr<Model> model;
  std::shared_ptr<RuntimeModel> rt;
};

// x: f32[batch, 8] -> sigmoid(relu(x @ W + b) @ W2) : f32[batch, 4]
Compiled mlp(CompileOptions o = {}) {
  use_mlir_kernel_generator();
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("batch"), 8});
  Value* h = b.op(OpKind::Relu, {b.op(OpKind::Add, {b.op(OpKind::MatMul, {x, b.random("w", {8, 16}, 1)}),
                                                    b.random("b", {16}, 2)})});
  b.output(b.op(OpKind::Sigmoid, {b.op(OpKind::MatMul, {h, b.random("w2", {16, 4}, 3)})}));
  Compiled c;
  c.model = std::move(b.model);
  auto reference = testing::clone_model(*c.model);
  CompiledModel cm = compile_model(*c.model, o);
  c.rt = RuntimeModel::load_memory(cm.artifact);
  c.model = std::move(reference);
  return c;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_contains(const std::string& s, const std::string& part) {
  EXPECT_NE(s.find(part), std::string::npos) << "message: " << s << "\nexpected: " << part;
}

TEST(CompiledModel, DynamicBatchMatchesReference) {
  Compiled c = mlp();
  RuntimeSession s(c.rt, 2);
  for (int64_t batch : {1, 7, 64, 3}) {
    Tensor x = testing::random_tensor(DType::F32, {batch, 8}, uint32_t(batch));
    auto got = s.run({{"x", x}});
    auto want = ref::run_model(*c.model, {{"x", x}});
    std::string diff = compare_tensors(got[0], want[0].tensor, {1e-5, 1e-6});
    EXPECT_TRUE(diff.empty()) << "batch " << batch << ": " << diff;
  }
}

TEST(CompiledModel, BadInputsAtRunTime) {
  CompileOptions o;
  o.dim_bounds["batch"] = {1, 16, 16};
  Compiled c = mlp(o);
  RuntimeSession s(c.rt, 1);
  Tensor good = testing::random_tensor(DType::F32, {2, 8});
  expect_contains(error_of([&] { s.run({{"y", good}}); }), "'y'");
  expect_contains(error_of([&] { s.run({{"x", good.cast(DType::F64)}}); }), "f64");
  expect_contains(error_of([&] { s.run({{"x", Tensor(DType::F32, {2, 8, 1})}}); }), "rank");
  expect_contains(error_of([&] { s.run({{"x", Tensor(DType::F32, {2, 9})}}); }), "axis 1");
  // A dynamic dim beyond its declared bound.
  std::string beyond = error_of([&] { s.run({{"x", Tensor(DType::F32, {17, 8})}}); });
  expect_contains(beyond, "batch");
  expect_contains(beyond, "16");
  // The session still works after errors.
  EXPECT_EQ(s.run({{"x", good}})[0].dims(), (std::vector<int64_t>{2, 4}));
}

TEST(CompiledModel, MissingInputIsAnError) {
  Compiled c = mlp();
  RuntimeSession s(c.rt, 1);
  expect_contains(error_of([&] { s.run({}); }), "x");
}

TEST(CompiledModel, NanAndInfPropagate) {
  Compiled c = mlp();
  RuntimeSession s(c.rt, 1);
  Tensor x = testing::random_tensor(DType::F32, {3, 8});
  float* p = x.mutable_data<float>();
  p[0] = std::numeric_limits<float>::quiet_NaN();                    // row 0
  for (int i = 8; i < 16; ++i) p[i] = std::numeric_limits<float>::infinity();  // row 1
  auto got = s.run({{"x", x}});
  auto want = ref::run_model(*c.model, {{"x", x}});
  // Relu maps NaN to 0 in the reference (NaN > 0 is false), so the compiled model must too.
  std::string diff = compare_tensors(got[0], want[0].tensor, {1e-5, 1e-6});
  EXPECT_TRUE(diff.empty()) << diff;
  for (int j = 0; j < 4; ++j) EXPECT_TRUE(std::isfinite(got[0].data<float>()[8 + j]));

  // Element-wise chains carry NaN and Inf through.
  GraphBuilder b;
  Value* in = b.input("x", DType::F32, {4});
  b.output(b.op(OpKind::Mul, {b.op(OpKind::Exp, {in}), b.scalar(2)}));
  CompiledModel cm = compile_model(*b.model, {});
  RuntimeSession s2(RuntimeModel::load_memory(cm.artifact), 1);
  float inf = std::numeric_limits<float>::infinity();
  Tensor v = Tensor::from_vector<float>({4}, {std::nanf(""), inf, -inf, 0.f});
  auto y = s2.run({{"x", v}})[0];
  EXPECT_TRUE(std::isnan(y.data<float>()[0]));
  EXPECT_EQ(y.data<float>()[1], inf);
  EXPECT_EQ(y.data<float>()[2], 0.f);
  EXPECT_EQ(y.data<float>()[3], 2.f);
}

}  // namespace
}  // namespace eave
