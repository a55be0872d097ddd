// Fused elementwise dispatches compiled with the MLIR kernel generator: the merging of dims
// every input reads alike, the transform schedule (vector tiles of the target's register
// width, peeled tails) and the split into thread tiles, against the reference interpreter.
#include <gtest/gtest.h>

#include "tests/codegen/lowering_test_util.h"

namespace eave::testing {
namespace {

struct BinaryCase {
  std::vector<Dim> x, y;
};

// x op y, then an activation, so the dispatch is a fused chain.
std::unique_ptr<Model> binary_model(OpKind op, DType dt, const BinaryCase& c, OpKind then) {
  GraphBuilder g;
  Value* x = g.input("x", dt, c.x);
  Value* y = g.input("y", dt, c.y);
  Value* r = g.op(op, {x, y});
  g.output(then == OpKind::Identity ? r : g.op(then, {r}));
  return std::move(g.model);
}

std::vector<int64_t> concrete(const std::vector<Dim>& dims, int64_t symbol_value) {
  std::vector<int64_t> v;
  for (const Dim& d : dims) v.push_back(d.is_const() ? d.value() : symbol_value);
  return v;
}

const BinaryCase kShapes[] = {
    {{1, 64, 56, 56}, {64, 1, 1}},          // conv bias: [64, 3136], split by channel rows
    {{8, 512, 7, 7}, {512, 1, 1}},          // rows of 49: three vectors and a tail of one
    {{2048, 1}, {1, 256}},                  // outer product: both inputs broadcast
    {{37}, {}},                             // a scalar; one row cut into thread tiles
    {{3, 1, 7}, {5, 1}},                    // rows shorter than a vector
    {{2, 3, 4, 5}, {2, 1, 4, 1}},           // alternating broadcast: no dims merge
    {{1, 1, 1}, {1}},                       // all ones
    {{5, 16}, {16}},                        // rows of exactly one vector
    {{3, 100003}, {3, 100003}},             // a long row with a tail, several thread tiles
    {{2, 1, 3, 1}, {1, 4, 1, 5}},           // ones between broadcast dims
};

TEST(ElementwiseLowering, BroadcastShapesMatchReference) {
  for (const BinaryCase& c : kShapes) {
    auto m = binary_model(OpKind::Mul, DType::F32, c, OpKind::Sigmoid);
    Inputs in = {{"x", seeded(DType::F32, concrete(c.x, 1), 1)},
                 {"y", seeded(DType::F32, concrete(c.y, 1), 2)}};
    for (int threads : {1, 3}) {
      SCOPED_TRACE(::testing::Message() << dims_str(in[0].second.dims()) << " * "
                                        << dims_str(in[1].second.dims()) << ", " << threads << " threads");
      expect_kernels_match(*m, in, kF32KernelTolerance, threads);
    }
  }
}

// Every storage width picks its own vector; integers and bools must be exact.
TEST(ElementwiseLowering, ElementTypesMatchReference) {
  struct TypeCase {
    OpKind op, then;
    DType dt;
  };
  const TypeCase types[] = {
      {OpKind::Add, OpKind::Neg, DType::F16},     {OpKind::Add, OpKind::Relu, DType::BF16},
      {OpKind::Mul, OpKind::Abs, DType::I64},     {OpKind::Sub, OpKind::Neg, DType::I8},
      {OpKind::Add, OpKind::Identity, DType::U8}, {OpKind::Xor, OpKind::Not, DType::Bool},
      {OpKind::Div, OpKind::Sqrt, DType::F64},    {OpKind::Max, OpKind::Identity, DType::I16},
  };
  const BinaryCase shapes[] = {{{4, 3, 33}, {3, 1}}, {{2, 130}, {130}}, {{1, 8, 64}, {1, 8, 64}}};
  for (const TypeCase& t : types) {
    for (const BinaryCase& c : shapes) {
      auto m = binary_model(t.op, t.dt, c, t.then);
      Inputs in = {{"x", seeded(t.dt, concrete(c.x, 1), 3)}, {"y", seeded(t.dt, concrete(c.y, 1), 4)}};
      SCOPED_TRACE(::testing::Message() << dtype_name(t.dt) << " " << dims_str(in[0].second.dims()));
      expect_kernels_match(*m, in, tolerance_for(t.dt), 2);
    }
  }
}

// A dynamic leading dim and a dynamic row length: one compile serves every size, including
// rows shorter than a vector and sizes that leave a tail.
TEST(ElementwiseLowering, DynamicDimsMatchReference) {
  const BinaryCase cases[] = {
      {{Dim::symbol("N"), 77}, {77}},
      {{1, Dim::symbol("N"), 96}, {96}},
      {{4, Dim::symbol("N")}, {4, 1}},
      {{Dim::symbol("N")}, {Dim::symbol("N")}},
  };
  for (const BinaryCase& c : cases) {
    auto m = binary_model(OpKind::Add, DType::F32, c, OpKind::Tanh);
    std::vector<Inputs> runs;
    for (int64_t n : {1, 5, 17, 300, 40000})
      runs.push_back({{"x", seeded(DType::F32, concrete(c.x, n), 5)},
                      {"y", seeded(DType::F32, concrete(c.y, n), 6)}});
    CompiledRun got = expect_matches_reference(*m, runs, kF32KernelTolerance, 3);
    EXPECT_EQ(got.builtins, 0u);
  }
}

// x[A, 4] + y[B, 4]: inference takes the result to be [A, 4], which only holds when A == B (or
// B is 1). Generated code would read y as following A; the op stays a runtime builtin, which
// checks the shapes it computes: right when A == B, a clear error naming the step when A is 1.
TEST(ElementwiseLowering, DistinctDynamicDimsAreCheckedNotAssumed) {
  auto m = binary_model(OpKind::Add, DType::F32, {{Dim::symbol("A"), 4}, {Dim::symbol("B"), 4}},
                        OpKind::Identity);
  CompiledRun same = expect_matches_reference(
      *m, {{{"x", seeded(DType::F32, {3, 4}, 1)}, {"y", seeded(DType::F32, {3, 4}, 2)}}});
  EXPECT_TRUE(same.kernels.empty());
  EXPECT_EQ(same.builtins, 1u);
  try {
    compile_and_run(*m, {{{"x", seeded(DType::F32, {1, 4}, 1)}, {"y", seeded(DType::F32, {3, 4}, 2)}}});
    ADD_FAILURE() << "a [1,4] + [3,4] run computed a result of the planned shape [1,4]";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("axis 0 is 3 here"), std::string::npos) << e.what();
  }
}

TEST(ElementwiseLowering, ScheduleVectorizesWithTheTargetsRegisters) {
  auto m = binary_model(OpKind::Add, DType::F32, {{1, 64, 56, 56}, {64, 1, 1}}, OpKind::Relu);
  struct Want {
    std::string target, cpu, vector;
  };
  const Want wants[] = {{"x86_64", "znver4", "vector<16xf32>"},
                        {"x86_64", "x86-64-v3", "vector<8xf32>"},
                        {"aarch64", "", "vector<4xf32>"}};
  for (const Want& w : wants) {
    SCOPED_TRACE(w.target + " " + w.cpu);
    PrintedIr ir = compile_printing(*m, w.target, w.cpu);
    EXPECT_NE(ir.bufferized.find("into memref<64x3136xf32>"), std::string::npos) << ir.bufferized;
    EXPECT_NE(ir.bufferized.find("eave.schedule"), std::string::npos) << ir.bufferized;
    EXPECT_NE(ir.scheduled.find(w.vector), std::string::npos) << ir.scheduled;
    EXPECT_EQ(ir.scheduled.find("linalg.generic"), std::string::npos)
        << "3136 is a multiple of every vector width: no scalar tail should remain\n" << ir.scheduled;
  }
}

TEST(ElementwiseLowering, TailOfARowIsPeeled) {
  auto m = binary_model(OpKind::Mul, DType::F32, {{8, 512, 7, 7}, {512, 1, 1}}, OpKind::Identity);
  PrintedIr ir = compile_printing(*m, "x86_64", "znver4");
  // Rows of 49: three vectors of 16, then a static tail of one.
  EXPECT_NE(ir.bufferized.find("into memref<8x512x49xf32>"), std::string::npos) << ir.bufferized;
  EXPECT_NE(ir.scheduled.find("vector<16xf32>"), std::string::npos) << ir.scheduled;
  EXPECT_NE(ir.scheduled.find("vector<1xf32>"), std::string::npos) << ir.scheduled;
}

}  // namespace
}  // namespace eave::testing
