// The data-movement, indexing and shape builtins (runtime/src/builtins/shape.c and friends)
// end to end: small graphs compiled with every op as a builtin, run by the runtime and compared
// with the reference interpreter, exactly. Covers what the ONNX backend tests do not: shapes
// known only at run time, symbolic input dims, unused outputs, every dtype pair of Cast, and the
// errors a bad index or shape gives.
#include <cmath>
#include <limits>

#include "codegen/artifact_writer.h"
#include "codegen/target.h"
#include "compiler/compile.h"
#include "runtime/src/artifact_format.h"
#include "tests/compiler/runtime_test_util.h"

namespace eave {
namespace {

using testing::GraphBuilder;

std::shared_ptr<RuntimeModel> compile_builtins(const Model& m) {
  auto copy = testing::clone_model(m);  // compiling rewrites the model
  CompileOptions o;
  o.generate_kernels = false;
  return RuntimeModel::load_memory(compile_model(*copy, o).artifact);
}

using testing::Inputs;

// Runs the compiled model and the reference on `inputs`; every output must match exactly.
void expect_reference(const Model& m, const std::shared_ptr<RuntimeModel>& rt,
                      const Inputs& inputs) {
  RuntimeSession s(rt);
  testing::expect_matches_reference(m, s, inputs);
}

void expect_reference(const Model& m, const Inputs& inputs) {
  expect_reference(m, compile_builtins(m), inputs);
}

// The message of the error running the compiled model gives ("" if it runs).
std::string run_error(const std::shared_ptr<RuntimeModel>& rt, const Inputs& inputs) {
  try {
    RuntimeSession s(rt);
    s.run(inputs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Running the compiled model on `inputs` must fail with a message containing `what`.
void expect_run_error(const std::shared_ptr<RuntimeModel>& rt, const Inputs& inputs,
                      const std::string& what) {
  std::string msg = run_error(rt, inputs);
  EXPECT_NE(msg.find(what), std::string::npos) << "message: '" << msg << "', expected: " << what;
}

Tensor i64s(std::vector<int64_t> dims, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(dims), v);
}

Tensor iota(DType dt, std::vector<int64_t> dims) {
  Tensor t(DType::F32, dims);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data<float>()[i] = float(i);
  return t.cast(dt);
}

TEST(DataBuiltins, GatherIndexOutOfRangeIsARunError) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {3, 2});
  Value* i = b.input("i", DType::I64, {2});
  b.output(b.op(OpKind::Gather, {x, i}));
  auto rt = compile_builtins(*b.model);
  expect_reference(*b.model, rt, {{"x", iota(DType::F32, {3, 2})}, {"i", i64s({2}, {2, -3})}});
  expect_run_error(rt, {{"x", iota(DType::F32, {3, 2})}, {"i", i64s({2}, {0, 3})}},
                   "index 3 is out of range for axis 0 of size 3");
  expect_run_error(rt, {{"x", iota(DType::F32, {3, 2})}, {"i", i64s({2}, {-4, 0})}},
                   "index -4 is out of range");
}

TEST(DataBuiltins, ScatterAndGatherNDIndicesAreChecked) {
  GraphBuilder b;
  Value* x = b.input("x", DType::I32, {4, 3});
  Value* i = b.input("i", DType::I64, {2, 1});
  Value* u = b.input("u", DType::I32, {2, 3});
  b.output(b.op(OpKind::ScatterND, {x, i, u}, {{"reduction", Attribute::of_string("add")}}));
  b.output(b.op(OpKind::GatherND, {x, i}));
  auto rt = compile_builtins(*b.model);
  Inputs in = {{"x", iota(DType::I32, {4, 3})},
               {"i", i64s({2, 1}, {1, 1})},
               {"u", iota(DType::I32, {2, 3})}};
  expect_reference(*b.model, rt, in);
  in[1].second = i64s({2, 1}, {1, 4});
  expect_run_error(rt, in, "index 4 is out of range for axis 0 of size 4");
}

// The shape comes from data: the output's dims are RUNTIME symbols the builtin defines, its
// storage is the heap, and a later run may give another shape.
TEST(DataBuiltins, ReshapeToADataDependentShape) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F16, {2, 3, 4});
  Value* shape = b.input("shape", DType::I64, {2});
  b.output(b.op(OpKind::Reshape, {x, shape}));
  auto rt = compile_builtins(*b.model);
  Tensor xv = iota(DType::F16, {2, 3, 4});
  RuntimeSession s(rt);
  std::vector<Tensor> y = s.run({{"x", xv}, {"shape", i64s({2}, {4, -1})}});
  EXPECT_EQ(y[0].dims(), (std::vector<int64_t>{4, 6}));
  y = s.run({{"x", xv}, {"shape", i64s({2}, {0, 12})}});
  EXPECT_EQ(y[0].dims(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(compare_tensors(y[0], xv.reshaped({2, 12}), {0, 0}), "");
  expect_run_error(rt, {{"x", xv}, {"shape", i64s({2}, {5, -1})}}, "cannot infer the -1");
  expect_run_error(rt, {{"x", xv}, {"shape", i64s({2}, {-1, -1})}}, "more than one -1");
  expect_run_error(rt, {{"x", xv}, {"shape", i64s({2}, {5, 5})}}, "cannot reshape 24");
}

// Dims that are expressions of an input's symbolic dims: the builtin's computed dims must agree
// with what the runtime evaluates, for every binding.
TEST(DataBuiltins, SymbolicInputDims) {
  GraphBuilder b;
  Value* x = b.input("x", DType::I8, {Dim::symbol("n"), 3});
  Value* t = b.op(OpKind::Transpose, {x});
  Value* c = b.op(OpKind::Concat, {t, t}, {{"axis", Attribute::of_int(1)}});
  Value* s = b.op(OpKind::Slice, {c, b.ints("st", {1}), b.ints("en", {-1}), b.ints("ax", {1})});
  b.output(b.op(OpKind::Tile, {s, b.ints("rep", {2, 1})}));
  b.output(b.op(OpKind::Shape, {s}));
  auto rt = compile_builtins(*b.model);
  for (int64_t n : {1, 2, 5}) expect_reference(*b.model, rt, {{"x", iota(DType::I8, {n, 3})}});
}

// The shape arithmetic exported models do at run time: Shape, Gather, Unsqueeze, Concat, then
// Reshape, Expand and ConstantOfShape with the result.
TEST(DataBuiltins, ShapeArithmeticOnSymbolicDims) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 4});
  Value* n = b.op(OpKind::Gather, {b.op(OpKind::Shape, {x}),
                                   b.g->add_constant("zero", Tensor::scalar<int64_t>(0))});
  Value* n1 = b.op(OpKind::Unsqueeze, {n, b.ints("ax", {0})});
  Value* shape =
      b.op(OpKind::Concat, {n1, b.ints("two", {2, 2})}, {{"axis", Attribute::of_int(0)}});
  Value* r = b.op(OpKind::Reshape, {x, shape});
  b.output(r);
  b.output(b.op(OpKind::Expand, {b.floats("one", {1, 1, 1}, {1}), shape}));
  b.output(b.op(OpKind::ConstantOfShape, {shape},
                {{"value", Attribute::of_tensor(Tensor::from_vector<int32_t>({1}, {7}))}}));
  b.output(b.op(OpKind::Range, {b.g->add_constant("s", Tensor::scalar<int64_t>(1)), n,
                                b.g->add_constant("d", Tensor::scalar<int64_t>(1))}));
  auto rt = compile_builtins(*b.model);
  for (int64_t v : {1, 3}) expect_reference(*b.model, rt, {{"x", iota(DType::F32, {v, 4})}});
}

// Views of a data-dependent tensor: the views' dims are expressions of NonZero's count, and
// one of them is a model output, whose slot exists before any step runs.
TEST(DataBuiltins, ViewsOfADataDependentTensor) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 4});
  Value* nz = b.op(OpKind::NonZero, {x});
  Value* flat = b.op(OpKind::Flatten, {nz}, {{"axis", Attribute::of_int(0)}});
  Value* sq = b.op(OpKind::Squeeze, {flat, b.ints("z", {0})});
  Value* sl = b.op(OpKind::Slice, {sq, b.ints("one", {1}), b.ints("big", {3})});
  b.output(b.op(OpKind::Reshape, {nz, b.ints("m1", {-1})}));
  b.output(b.op(OpKind::Gather, {x, sl}, {{"axis", Attribute::of_int(1)}}));
  auto rt = compile_builtins(*b.model);
  for (auto v : {std::vector<float>{0, 1, 0, 2, 3, 0, 0, 4}, std::vector<float>{5, 0, 0, 6}})
    expect_reference(*b.model, rt,
                     {{"x", Tensor::from_vector<float>({int64_t(v.size()) / 4, 4}, v)}});
}

// NonZero whose count the compiler knew (a constant dim): the builtin checks it.
TEST(DataBuiltins, NonZeroChecksACountTheCompilerKnew) {
  artifact::ArtifactWriter w;
  codegen::TargetSpec host = codegen::host_target();
  artifact::Arch arch = host.arch() == codegen::Arch::x86_64    ? artifact::Arch::X86_64
                        : host.arch() == codegen::Arch::aarch64 ? artifact::Arch::AArch64
                                                                : artifact::Arch::RiscV64;
  w.set_target({arch, host.triple, host.cpu, {}});
  artifact::ProgramBuilder& p = w.main();
  artifact::ValueId x = p.add_input("x", EAVE_DTYPE_F32, {4});
  artifact::ValueId y = p.add_output("y", EAVE_DTYPE_I64, {1, 3});
  p.add_builtin("NonZero", artifact::Builtin::NONZERO, {x}, {y});
  auto rt = RuntimeModel::load_memory(w.bytes());
  std::vector<Tensor> got =
      RuntimeSession(rt).run({{"x", Tensor::from_vector<float>({4}, {1, 0, -2, 3})}});
  EXPECT_EQ(got[0].to_int_vector(), (std::vector<int64_t>{0, 2, 3}));
  expect_run_error(rt, {{"x", Tensor::from_vector<float>({4}, {1, 0, 0, 3})}},
                   "axis 1 is 2 here, but the model's shapes say 3");
}

// Counts found in the data: NonZero, Unique and Compress, some outputs unused.
TEST(DataBuiltins, DataDependentCounts) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {6});
  Value* nz = b.op(OpKind::NonZero, {x});
  Node* u = b.node(OpKind::Unique, {x}, {{"sorted", Attribute::of_int(0)}}, 4);
  b.output(nz);
  b.output(u->output(0));
  b.output(u->output(3));
  Value* keep = b.input("keep", DType::Bool, {6});
  b.output(b.op(OpKind::Compress, {x, keep}, {{"axis", Attribute::of_int(0)}}));
  auto rt = compile_builtins(*b.model);
  Tensor a = Tensor::from_vector<float>({6}, {3, 0, -1, 3, NAN, 0});
  Tensor none = Tensor::from_vector<float>({6}, {0, 0, 0, 0, 0, 0});
  Tensor k1 = Tensor::from_vector<bool>({6}, {true, false, true, true, false, false});
  Tensor k0 = Tensor::from_vector<bool>({6}, {false, false, false, false, false, false});
  expect_reference(*b.model, rt, {{"x", a}, {"keep", k1}});
  expect_reference(*b.model, rt, {{"x", none}, {"keep", k0}});
}

TEST(DataBuiltins, TopKWithARunTimeK) {
  GraphBuilder b;
  Value* x = b.input("x", DType::I64, {2, 5});
  Value* k = b.input("k", DType::I64, {1});
  Node* t = b.node(OpKind::TopK, {x, k}, {{"largest", Attribute::of_int(0)}}, 2);
  b.output(t->output(0));
  b.output(t->output(1));
  auto rt = compile_builtins(*b.model);
  Tensor xv = i64s({2, 5}, {5, -1, 5, std::numeric_limits<int64_t>::max(), 2,
                            std::numeric_limits<int64_t>::min(), 0, 0, 7, -7});
  for (int64_t kv : {0, 3, 5}) expect_reference(*b.model, rt, {{"x", xv}, {"k", i64s({1}, {kv})}});
  expect_run_error(rt, {{"x", xv}, {"k", i64s({1}, {6})}}, "k = 6 is outside [0, 5]");
}

TEST(DataBuiltins, SplitWithAnUnusedOutput) {
  GraphBuilder b18(18);
  Value* x18 = b18.input("x", DType::BF16, {7, 2});
  Node* s18 = b18.node(OpKind::Split, {x18}, {{"num_outputs", Attribute::of_int(3)}}, 3);
  b18.output(s18->output(0));
  b18.output(s18->output(2));
  expect_reference(*b18.model, {{"x", iota(DType::BF16, {7, 2})}});
}

// Every pair of runtime dtypes, on values that probe rounding, saturation, NaN and sign.
TEST(DataBuiltins, CastMatchesTheReferenceForEveryDtypePair) {
  const DType all[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8,
                       DType::U8,  DType::I16, DType::U16,  DType::I32, DType::U32,
                       DType::I64, DType::U64, DType::Bool};
  std::vector<double> probe = {0.0,     -0.0, 1.5,        -2.5, 255.75,  -129.0,
                               65536.5, 3e9,  -3e9,       1e19, -1e19,   1e-40,
                               1e-50,   0.1,  16777217.0, NAN,  INFINITY};
  Tensor src(DType::F64, {int64_t(probe.size())});
  for (size_t i = 0; i < probe.size(); ++i) src.mutable_data<double>()[i] = probe[i];
  for (DType from : all) {
    for (DType to : all) {
      GraphBuilder b;
      Value* x = b.input("x", from, {int64_t(probe.size())});
      b.output(b.op(OpKind::Cast, {x}, {{"to", Attribute::of_int(dtype_to_onnx(to))}}));
      SCOPED_TRACE(std::string(dtype_name(from)) + " to " + dtype_name(to));
      expect_reference(*b.model, {{"x", src.cast(from)}});
    }
  }
}

TEST(DataBuiltins, PadModesWithCropping) {
  for (const char* mode : {"constant", "reflect", "edge", "wrap"}) {
    GraphBuilder b;
    Value* x = b.input("x", DType::U16, {3, 4});
    Value* pads = b.ints("pads", {2, -1, 3, 5});
    b.output(b.op(OpKind::Pad, {x, pads, b.g->add_constant("v", Tensor::scalar<uint16_t>(9))},
                  {{"mode", Attribute::of_string(mode)}}));
    SCOPED_TRACE(mode);
    expect_reference(*b.model, {{"x", iota(DType::U16, {3, 4})}});
  }
}

// Copies whose last axis reads strided go in tiles: shapes past the tile size, with fill.
TEST(DataBuiltins, TiledCopies) {
  for (DType dt : {DType::I16, DType::Bool, DType::F64}) {
    GraphBuilder b;
    Value* x = b.input("x", dt, {3, 40, 37});
    b.output(b.op(OpKind::Transpose, {x}, {{"perm", Attribute::of_ints({2, 0, 1})}}));
    b.output(b.op(OpKind::Transpose, {x}, {{"perm", Attribute::of_ints({1, 2, 0})}}));
    b.output(b.op(OpKind::Pad, {x, b.ints("p", {0, 33, -2, 1, 0, 35})}));
    b.output(b.op(OpKind::Slice, {x, b.ints("s", {-1}), b.ints("e", {-100}), b.ints("a", {2}),
                                  b.ints("st", {-3})}));
    SCOPED_TRACE(dtype_name(dt));
    expect_reference(*b.model, {{"x", iota(dt, {3, 40, 37})}});
  }
}

TEST(DataBuiltins, BadShapesAreRunErrors) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3});
  Value* shape = b.input("shape", DType::I64, {2});
  b.output(b.op(OpKind::Expand, {x, shape}));
  auto rt = compile_builtins(*b.model);
  expect_reference(*b.model, rt, {{"x", iota(DType::F32, {2, 3})}, {"shape", i64s({2}, {2, 1})}});
  expect_run_error(rt, {{"x", iota(DType::F32, {2, 3})}, {"shape", i64s({2}, {2, 4})}},
                   "cannot broadcast");
}

// An empty tensor may have huge other dims: the builtins must not loop over them.
TEST(DataBuiltins, EmptyTensorsWithHugeDims) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 2, Dim::symbol("m")});
  b.output(b.op(OpKind::Gather, {x, b.ints("i", {1})}, {{"axis", Attribute::of_int(1)}}));
  b.output(b.op(OpKind::CumSum, {x, b.ints("a", {2})}));
  b.output(b.op(OpKind::Transpose, {x}));
  b.output(b.op(OpKind::Tile, {x, b.ints("r", {1, 3, 1})}));
  auto rt = compile_builtins(*b.model);
  Tensor x0(DType::F32, {int64_t(1) << 40, 2, 0});
  std::vector<Tensor> y = RuntimeSession(rt).run({{"x", x0}});
  EXPECT_EQ(y[0].dims(), (std::vector<int64_t>{int64_t(1) << 40, 1, 0}));
  EXPECT_EQ(y[3].dims(), (std::vector<int64_t>{int64_t(1) << 40, 6, 0}));
}

TEST(DataBuiltins, ResizeRoundsIntegers) {
  GraphBuilder b(19);
  Value* x = b.input("x", DType::U8, {1, 1, 3, 3});
  Value* none = nullptr;
  b.output(b.op(OpKind::Resize, {x, none, b.floats("s", {4}, {1, 1, 1.7f, 0.6f})},
                {{"mode", Attribute::of_string("cubic")}, {"antialias", Attribute::of_int(1)}}));
  Tensor xv = Tensor::from_vector<uint8_t>({1, 1, 3, 3}, {0, 255, 10, 200, 3, 90, 255, 0, 128});
  expect_reference(*b.model, {{"x", xv}});
}

// Ops that compute values, on every dtype they take, against the reference bit for bit:
// reductions of scatters, running sums, ranges, one-hot, selection, ordering.
TEST(DataBuiltins, ComputingOpsMatchTheReferenceOnEveryDtype) {
  const DType numeric[] = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I8,  DType::U8,
                           DType::I16, DType::U16, DType::I32,  DType::U32, DType::I64, DType::U64};
  for (DType dt : numeric) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(18);
    Value* x = b.input("x", dt, {3, 5});
    Value* y = b.input("y", dt, {5});
    Value* c = b.input("c", DType::Bool, {3, 1});
    Value* idx =
        b.g->add_constant("idx", Tensor::from_vector<int32_t>({3, 2}, {0, 4, -1, 4, 2, 2}));
    for (const char* red : {"add", "mul", "max", "min"})
      b.output(b.op(
          OpKind::ScatterElements,
          {x, idx, b.op(OpKind::Slice, {x, b.ints("s", {0}), b.ints("e", {2}), b.ints("a", {1})})},
          {{"axis", Attribute::of_int(1)}, {"reduction", Attribute::of_string(red)}}));
    b.output(b.op(OpKind::CumSum, {x, b.ints("ax", {1})}, {{"exclusive", Attribute::of_int(1)}}));
    b.output(b.op(OpKind::CumSum, {x, b.ints("ax0", {0})}, {{"reverse", Attribute::of_int(1)}}));
    b.output(b.op(OpKind::Where, {c, x, y}));
    b.output(b.op(
        OpKind::OneHot,
        {y, b.ints("depth", {3}), b.op(OpKind::Slice, {y, b.ints("s2", {1}), b.ints("e2", {3})})},
        {{"axis", Attribute::of_int(0)}}));
    Node* t = b.node(OpKind::TopK, {x, b.ints("k", {3})}, {}, 2);
    b.output(t->output(0));
    b.output(t->output(1));
    Node* u = b.node(OpKind::Unique, {x}, {{"axis", Attribute::of_int(1)}}, 4);
    for (size_t k = 0; k < 4; ++k) b.output(u->output(k));
    b.output(b.op(OpKind::Trilu, {x, b.ints("tk", {-1})}, {{"upper", Attribute::of_int(0)}}));
    b.output(b.op(OpKind::EyeLike, {x}, {{"k", Attribute::of_int(2)}}));
    Tensor xv = testing::random_tensor(DType::F32, {3, 5}, 3);
    for (int64_t i = 0; i < 15; ++i) xv.mutable_data<float>()[i] *= 40;
    xv.mutable_data<float>()[7] = xv.mutable_data<float>()[2];
    Tensor yv = Tensor::from_vector<float>({5}, {-4, 1, 2, 7, 0});
    Tensor cv = Tensor::from_vector<bool>({3, 1}, {true, false, true});
    expect_reference(*b.model, {{"x", xv.cast(dt)}, {"y", yv.cast(dt)}, {"c", cv}});
  }
}

TEST(DataBuiltins, RangeOnEveryNumericDtype) {
  for (DType dt : {DType::F32, DType::F16, DType::F64, DType::I16, DType::I32, DType::I64}) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b;
    Value* s = b.input("s", dt, {});
    Value* l = b.input("l", dt, {});
    Value* d = b.input("d", dt, {});
    b.output(b.op(OpKind::Range, {s, l, d}));
    auto rt = compile_builtins(*b.model);
    auto scalar = [&](double v) { return Tensor::scalar<double>(v).cast(dt); };
    expect_reference(*b.model, rt, {{"s", scalar(-3)}, {"l", scalar(10)}, {"d", scalar(1.7)}});
    expect_reference(*b.model, rt, {{"s", scalar(5)}, {"l", scalar(-5)}, {"d", scalar(-3)}});
    expect_reference(*b.model, rt, {{"s", scalar(5)}, {"l", scalar(5)}, {"d", scalar(2)}});
    expect_run_error(rt, {{"s", scalar(0)}, {"l", scalar(1)}, {"d", scalar(0)}}, "delta is 0");
  }
}

// A graph of many data builtins; its artifact's PROGRAM section (tables and attribute blobs)
// corrupted byte by byte must load and run safely: a load error, a run error or a run.
TEST(DataBuiltins, CorruptProgramsLoadAndRunSafely) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 4});
  Value* i = b.input("i", DType::I64, {3});
  Value* shape = b.input("shape", DType::I64, {2});
  Value* g = b.op(OpKind::Gather, {x, i}, {{"axis", Attribute::of_int(1)}});
  Value* t = b.op(OpKind::Transpose, {g});
  Value* p = b.op(OpKind::Pad, {t, b.ints("p", {1, 0, -1, 2}), nullptr, nullptr},
                  {{"mode", Attribute::of_string("reflect")}});
  Node* sp = b.node(OpKind::Split, {p, b.ints("sz", {1, 2})}, {}, 2);
  Value* c = b.op(OpKind::Concat, {sp->output(1), sp->output(0)}, {{"axis", Attribute::of_int(0)}});
  b.output(b.op(OpKind::Reshape, {c, shape}));
  Node* u = b.node(OpKind::Unique, {i}, {}, 4);
  b.output(u->output(0));
  b.output(u->output(3));
  Node* k = b.node(OpKind::TopK, {x, b.ints("k", {2})}, {}, 2);
  b.output(k->output(1));
  b.output(b.op(OpKind::CumSum, {x, b.ints("ax", {0})}, {{"reverse", Attribute::of_int(1)}}));
  b.output(b.op(OpKind::ScatterElements,
                {b.floats("data", {4}, {1, 2, 3, 4}), i, b.floats("u", {3}, {5, 6, 7})},
                {{"reduction", Attribute::of_string("mul")}}));
  b.output(b.op(OpKind::Cast, {b.op(OpKind::Shape, {x})}, {{"to", Attribute::of_int(10)}}));
  b.output(b.op(OpKind::Resize, {x, nullptr, b.floats("s", {2}, {1.5f, 0.5f})},
                {{"mode", Attribute::of_string("linear")}}));
  b.output(b.op(OpKind::OneHot, {i, b.ints("d", {5}), b.floats("v", {2}, {0, 1})}));
  auto copy = testing::clone_model(*b.model);
  CompileOptions o;
  o.generate_kernels = false;
  std::vector<uint8_t> bytes = compile_model(*copy, o).artifact;
  Inputs in = {
      {"x", iota(DType::F32, {3, 4})}, {"i", i64s({3}, {2, 0, 2})}, {"shape", i64s({2}, {-1, 3})}};
  expect_reference(*b.model, RuntimeModel::load_memory(bytes), in);

  eave_file_header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  eave_section_entry prog{};
  for (uint32_t s = 0; s < h.section_count; ++s) {
    eave_section_entry e;
    std::memcpy(&e, bytes.data() + h.section_table_offset + s * sizeof e, sizeof e);
    if (e.kind == EAVE_SECTION_PROGRAM) prog = e;
  }
  ASSERT_GT(prog.size, 0u);
  int loaded = 0, ran = 0;
  for (uint64_t at = prog.offset; at < prog.offset + prog.size; ++at)
    for (uint8_t flip : {0x01, 0x04, 0x80}) {
      std::vector<uint8_t> bad = bytes;
      bad[at] ^= flip;
      // Fix the checksums so that the corruption reaches the checks behind them.
      eave_section_entry e = prog;
      e.checksum = eave_artifact_hash(bad.data() + e.offset, e.size);
      for (uint32_t s = 0; s < h.section_count; ++s) {
        uint8_t* entry = bad.data() + h.section_table_offset + s * sizeof e;
        eave_section_entry cur;
        std::memcpy(&cur, entry, sizeof cur);
        if (cur.kind == EAVE_SECTION_PROGRAM) std::memcpy(entry, &e, sizeof e);
      }
      eave_file_header bh = h;
      bh.checksum = 0;
      std::memcpy(bad.data(), &bh, sizeof bh);
      bh.checksum = eave_artifact_hash(bad.data(), sizeof bh + h.section_count * sizeof e);
      std::memcpy(bad.data(), &bh, sizeof bh);
      std::shared_ptr<RuntimeModel> rt;
      try {
        rt = RuntimeModel::load_memory(bad);
      } catch (const Error&) {
        continue;
      }
      ++loaded;
      ran += run_error(rt, in).empty();
    }
  std::printf("corrupted copies: %d loaded, %d of them ran\n", loaded, ran);
  EXPECT_GT(loaded, 0);
  EXPECT_GT(ran, 0);
}

}  // namespace
}  // namespace eave
