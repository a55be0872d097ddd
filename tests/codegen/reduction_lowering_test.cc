// Reductions as generated kernels (lowering/reduction.cc) against the reference interpreter:
// every Reduce* op over row, column and mixed layouts for each dtype it accepts, NaN,
// infinities and empty groups, symbolic dims, fused consumers, and ArgMax/ArgMin ties.
#include <cmath>
#include <limits>

#include "tests/codegen/lowering_test_util.h"

namespace eave {
namespace {

using testing::GraphBuilder;
using testing::Inputs;
using testing::seeded;

using testing::ints;
using testing::one;

// Adds `op` over `axes` (input or attribute by opset) with keepdims.
Value* reduce(GraphBuilder& b, OpKind op, Value* x, std::vector<int64_t> axes, bool keepdims) {
  std::vector<std::pair<std::string, Attribute>> attrs = {{"keepdims", one(keepdims)}};
  bool axes_input = op == OpKind::ReduceSum || b.model->opsets[""] >= 18;
  if (axes_input) {
    if (axes.empty()) return b.op(op, {x}, attrs);
    return b.op(op, {x, b.ints("axes", axes)}, attrs);
  }
  if (!axes.empty()) attrs.push_back({"axes", ints(axes)});
  return b.op(op, {x}, attrs);
}

const OpKind kReduceOps[] = {OpKind::ReduceSum,  OpKind::ReduceMean,      OpKind::ReduceMax,
                             OpKind::ReduceMin,  OpKind::ReduceProd,      OpKind::ReduceL1,
                             OpKind::ReduceL2,   OpKind::ReduceLogSum,    OpKind::ReduceLogSumExp,
                             OpKind::ReduceSumSquare};

std::vector<DType> dtypes_for(OpKind op) {
  std::vector<DType> v = {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I32, DType::I64,
                          DType::I8, DType::U8, DType::U32};
  if (op == OpKind::ReduceMax || op == OpKind::ReduceMin) v.push_back(DType::Bool);
  return v;
}

class ReduceOps : public ::testing::TestWithParam<OpKind> {};

// Every layout the kernel distinguishes, in one model per dtype: rows (last axis reduced),
// columns (a middle or the first axis), mixed groups, everything, keepdims on and off; 37 and
// 53 are not multiples of any vector width, so tails are masked.
TEST_P(ReduceOps, LayoutsAndDtypes) {
  OpKind op = GetParam();
  for (DType dt : dtypes_for(op)) {
    SCOPED_TRACE(dtype_name(dt));
    // Products of 53 x 37 values overflow to inf or wrap; keep them to short groups.
    std::vector<int64_t> dims = op == OpKind::ReduceProd ? std::vector<int64_t>{3, 5, 7}
                                                         : std::vector<int64_t>{4, 53, 37};
    GraphBuilder b(20);
    Value* x = b.input("x", dt, {dims[0], dims[1], dims[2]});
    const std::vector<std::vector<int64_t>> axes = {{2}, {1}, {0}, {0, 2}, {1, 2}, {}, {-1, 0}};
    for (size_t i = 0; i < axes.size(); ++i) b.output(reduce(b, op, x, axes[i], i % 2 == 0));
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, dims, 11)}}, testing::tolerance_for(dt));
  }
}

// Opset 13 (axes an attribute for all but ReduceSum) and noop_with_empty_axes.
TEST_P(ReduceOps, AttributeAxesAndNoop) {
  OpKind op = GetParam();
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {6, 19});
  b.output(reduce(b, op, x, {1}, true));
  b.output(reduce(b, op, x, {0}, false));
  GraphBuilder n(18);
  Value* y = n.input("x", DType::F32, {6, 19});
  n.output(n.op(op, {y}, {{"noop_with_empty_axes", one(1)}}));
  Inputs in = {{"x", seeded(DType::F32, {6, 19}, 3)}};
  testing::expect_kernels_match(*b.model, in, testing::tolerance_for(DType::F32));
  testing::expect_kernels_match(*n.model, in, testing::tolerance_for(DType::F32));
}

// Empty groups give each reduction's identity (NaN for the float mean, 0 for the integer one);
// an empty kept axis gives an empty output.
TEST_P(ReduceOps, EmptyGroups) {
  OpKind op = GetParam();
  for (DType dt : {DType::F32, DType::I32}) {
    GraphBuilder b(18);
    Value* x = b.input("x", dt, {3, 0, 5});
    b.output(reduce(b, op, x, {1}, true));
    b.output(reduce(b, op, x, {1, 2}, false));
    b.output(reduce(b, op, x, {2}, true));
    testing::expect_kernels_match(*b.model, {{"x", Tensor(dt, {3, 0, 5})}}, testing::tolerance_for(dt));
  }
}

INSTANTIATE_TEST_SUITE_P(Lowering, ReduceOps, ::testing::ValuesIn(kReduceOps),
                         [](const auto& info) { return std::string(op_kind_name(info.param)); });

// NaN propagates through max and min, is skipped by LogSumExp's running maximum as the
// reference's std::max does, and infinities pass through.
TEST(ReduceLowering, NanAndInfinity) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {5, 40});
  for (OpKind op : {OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceLogSumExp, OpKind::ReduceSum,
                    OpKind::ReduceMean})
    for (int64_t axis : {0, 1}) b.output(reduce(b, op, x, {axis}, false));
  Tensor t = seeded(DType::F32, {5, 40}, 5);
  float* p = t.mutable_data<float>();
  float inf = std::numeric_limits<float>::infinity();
  p[0 * 40 + 3] = NAN;                           // row 0: one NaN
  for (int i = 0; i < 40; ++i) p[1 * 40 + i] = -inf;  // row 1: all -inf
  p[2 * 40 + 17] = inf;                          // row 2: +inf
  p[3 * 40 + 39] = NAN;                          // row 3: NaN in the tail, and +inf
  p[3 * 40 + 5] = inf;
  for (int i = 0; i < 40; ++i) p[4 * 40 + i] = NAN;  // row 4: all NaN
  testing::expect_kernels_match(*b.model, {{"x", t}}, testing::tolerance_for(DType::F32));
}

// The accumulation loops are structured ops turned into loops by the reduce_steps schedules:
// nothing structured is left after them, and the loops carry the accumulators in registers
// (a row: 4 vectors of 16 lanes on znver4; a column block of 48: 3 vectors). A row of
// symbolic length ends in the masked schedule.
TEST(ReduceLowering, StepsKeepTheAccumulatorsInRegisters) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {8, 1000});
  Value* y = b.input("y", DType::F32, {300, 48});
  Value* z = b.input("z", DType::F32, {4, Dim::symbol("n")});
  b.output(reduce(b, OpKind::ReduceSum, x, {1}, false));
  b.output(reduce(b, OpKind::ReduceMax, y, {0}, false));
  b.output(reduce(b, OpKind::ReduceL1, z, {1}, false));
  testing::PrintedIr ir = testing::compile_printing(*b.model, "x86_64", "znver4");
  EXPECT_NE(ir.bufferized.find("eave.schedule = \"reduce_steps\""), std::string::npos) << ir.bufferized;
  EXPECT_NE(ir.bufferized.find("eave.schedule = \"reduce_steps_masked_w64\""), std::string::npos)
      << ir.bufferized;
  EXPECT_EQ(ir.scheduled.find("linalg."), std::string::npos) << ir.scheduled;
  EXPECT_NE(ir.scheduled.find("-> (vector<4x16xf32>)"), std::string::npos) << ir.scheduled;
  EXPECT_NE(ir.scheduled.find("-> (vector<3x16xf32>)"), std::string::npos) << ir.scheduled;
}

// Symbolic dims: the sizes come from the runtime's symbols; one compile, several shapes.
TEST(ReduceLowering, SymbolicDims) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 7, Dim::symbol("m")});
  b.output(reduce(b, OpKind::ReduceSum, x, {2}, true));
  b.output(reduce(b, OpKind::ReduceMean, x, {1}, false));
  b.output(reduce(b, OpKind::ReduceMax, x, {0, 2}, true));
  b.output(reduce(b, OpKind::ReduceLogSumExp, x, {}, false));
  b.output(b.op(OpKind::ArgMax, {x}, {{"axis", one(1)}}));
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  for (auto [n, m] : {std::pair{3, 70}, {1, 1}, {9, 16}, {2, 0}}) {
    SCOPED_TRACE(str_cat(n, "x7x", m));
    testing::expect_reference(*b.model, c, {{"x", seeded(DType::F32, {n, 7, m}, uint32_t(n + m))}},
                              testing::tolerance_for(DType::F32));
  }
}

// Rows and column blocks of a length known only at run time take the masked schedule
// (reduce_steps_masked_w<W>) for their last step, in every accumulator type: f16/bf16 widened
// to f32, f64, 8-bit integers summed in place or in 64 bits for the mean, booleans as bytes.
TEST(ReduceLowering, SymbolicLengthsInEveryType) {
  for (DType dt : {DType::F16, DType::BF16, DType::F64, DType::I8, DType::U8, DType::I32, DType::Bool}) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(20);
    Value* x = b.input("x", dt, {3, Dim::symbol("n")});
    if (dt == DType::Bool) {
      b.output(reduce(b, OpKind::ReduceMax, x, {1}, false));
      b.output(reduce(b, OpKind::ReduceMin, x, {0}, false));
    } else {
      b.output(reduce(b, OpKind::ReduceSum, x, {1}, false));
      b.output(reduce(b, OpKind::ReduceMean, x, {1}, true));
      b.output(reduce(b, OpKind::ReduceMax, x, {0}, false));
      b.output(reduce(b, OpKind::ReduceL1, x, {0}, true));
    }
    testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
    EXPECT_EQ(c.builtins, 0u) << c.dispatches;
    for (int64_t n : {1, 37, 70, 130}) {
      SCOPED_TRACE(str_cat("n = ", n));
      testing::expect_reference(*b.model, c, {{"x", seeded(dt, {3, n}, uint32_t(n))}},
                                testing::tolerance_for(dt));
    }
  }
}

// Elementwise consumers run in the reduction's kernel: one dispatch for all four nodes.
TEST(ReduceLowering, FusedEpilogue) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {8, 300});
  Value* r = b.input("r", DType::F32, {8, 1});
  Value* s = reduce(b, OpKind::ReduceSumSquare, x, {1}, true);
  Value* m = b.op(OpKind::Div, {s, b.scalar(300.0f)});
  Value* q = b.op(OpKind::Sqrt, {m});
  b.output(b.op(OpKind::Add, {q, r}));
  // Columns: a rank-1 result with a full-shape operand.
  Value* c = reduce(b, OpKind::ReduceMax, x, {0}, false);
  Value* w = b.input("w", DType::F32, {300});
  b.output(b.op(OpKind::Mul, {c, w}));
  testing::CompiledKernels k = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(k.kernels, 2u) << k.dispatches;
  EXPECT_EQ(k.builtins, 0u);
  testing::expect_reference(*b.model, k,
                            {{"x", seeded(DType::F32, {8, 300}, 1)}, {"r", seeded(DType::F32, {8, 1}, 2)},
                             {"w", seeded(DType::F32, {300}, 3)}},
                            testing::tolerance_for(DType::F32));
}

// ArgMax/ArgMin on every axis, both tie rules, keepdims; integers in [-20, 20] tie often.
TEST(ReduceLowering, ArgMaxArgMin) {
  for (DType dt : {DType::F32, DType::F16, DType::I32, DType::U8, DType::I64, DType::F64}) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(13);
    Value* x = b.input("x", dt, {6, 45, 33});
    for (OpKind op : {OpKind::ArgMax, OpKind::ArgMin})
      for (int64_t axis : {0, 1, 2, -1})
        for (int64_t last : {0, 1})
          b.output(b.op(op, {x}, {{"axis", one(axis)}, {"select_last_index", one(last)},
                                  {"keepdims", one(axis % 2 == 0)}}));
    // Integer-valued floats: ties across vector lanes.
    Tensor t = is_float(dt) ? seeded(DType::I8, {6, 45, 33}, 9).cast(dt) : seeded(dt, {6, 45, 33}, 9);
    testing::expect_kernels_match(*b.model, {{"x", t}}, {0, 0});
  }
}

// NaN counts as beyond every number: the first NaN wins, or the last with select_last_index.
TEST(ReduceLowering, ArgMaxNan) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {4, 70});
  for (int64_t axis : {0, 1})
    for (int64_t last : {0, 1})
      for (OpKind op : {OpKind::ArgMax, OpKind::ArgMin})
        b.output(b.op(op, {x}, {{"axis", one(axis)}, {"select_last_index", one(last)}}));
  Tensor t = seeded(DType::F32, {4, 70}, 4);
  float* p = t.mutable_data<float>();
  // Rows are scanned by two sets of vector lanes: NaNs in one lane, in different lanes and
  // sets, in the tail.
  p[3] = p[11] = NAN;
  p[70 + 6] = p[70 + 19] = p[70 + 40] = NAN;
  p[140 + 0] = p[210 + 0] = p[210 + 13] = p[210 + 69] = NAN;
  testing::expect_kernels_match(*b.model, {{"x", t}}, {0, 0});
}

// An ArgMax along an axis that is symbolic (possibly empty at run time) or indices of a
// reduction over input axes stay builtins.
TEST(ReduceLowering, Declines) {
  GraphBuilder b(18);
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 4});
  Value* axes = b.input("axes", DType::I64, {1});
  Node* am = b.node(OpKind::ArgMax, {x}, {{"axis", one(0)}});
  Node* rs = b.node(OpKind::ReduceSum, {x, axes});
  std::unique_ptr<KernelGenerator> gen = make_mlir_kernel_generator(codegen::host_target());
  KernelSupport s = gen->support();
  EXPECT_FALSE(s.generates(*am));
  EXPECT_FALSE(s.generates(*rs));
}

}  // namespace
}  // namespace eave
