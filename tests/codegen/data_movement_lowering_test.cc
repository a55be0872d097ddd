// Data movement as generated kernels (lowering/data_movement.cc) against the reference
// interpreter, exactly: every permutation of a rank-4 transpose, concat and split along each
// axis, slices with negative and out-of-range bounds and steps, the four pad modes, gather
// with constant indices, expand, tile, depth/space, for several element sizes and symbolic dims.
#include <limits>

#include "tests/codegen/lowering_test_util.h"

namespace eave {
namespace {

using testing::GraphBuilder;
using testing::Inputs;
using testing::seeded;

using testing::one;
using testing::ints;

// Element sizes 1, 2, 4 and 8 bytes, and bool.
const DType kDtypes[] = {DType::F32, DType::I8, DType::F16, DType::I64, DType::Bool};

TEST(DataMovementLowering, TransposeEveryPermutation) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(13);
    Value* x = b.input("x", dt, {3, 20, 2, 37});
    std::vector<int64_t> perm = {0, 1, 2, 3};
    do {
      b.output(b.op(OpKind::Transpose, {x}, {{"perm", ints(perm)}}));
    } while (std::next_permutation(perm.begin(), perm.end()));
    b.output(b.op(OpKind::Transpose, {x}));  // reversed by default
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {3, 20, 2, 37}, 1)}}, {0, 0});
  }
}

// The attention transposes with symbolic batch and sequence.
TEST(DataMovementLowering, TransposeSymbolic) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {Dim::symbol("b"), Dim::symbol("s"), 4, 32});
  Value* t = b.op(OpKind::Transpose, {x}, {{"perm", ints({0, 2, 1, 3})}});
  b.output(t);
  b.output(b.op(OpKind::Transpose, {t}, {{"perm", ints({0, 1, 3, 2})}}));
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  for (int64_t s : {1, 17, 128})
    testing::expect_reference(*b.model, c, {{"x", seeded(DType::F32, {2, s, 4, 32}, uint32_t(s))}}, {0, 0});
}

TEST(DataMovementLowering, ConcatAndSplit) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(18);
    Value* x = b.input("x", dt, {4, 6, 9});
    Value* y = b.input("y", dt, {4, 6, 5});
    Value* z = b.input("z", dt, {4, 6, 9});
    for (int64_t axis : {0, 1, 2}) {
      std::vector<Value*> in = {x, z, x};
      if (axis == 2) in = {x, y, z};
      b.output(b.op(OpKind::Concat, in, {{"axis", one(axis)}}));
    }
    // Split: sizes as a constant, equal parts (uneven since opset 18), one output unused.
    Node* s1 = b.node(OpKind::Split, {x, b.ints("split", {2, 0, 7})}, {{"axis", one(2)}}, 3);
    for (Value* v : s1->outputs()) b.output(v);
    Node* s2 = b.node(OpKind::Split, {x}, {{"axis", one(1)}, {"num_outputs", one(4)}}, 4);
    b.output(s2->output(0));
    b.output(s2->output(3));
    Node* s3 = b.node(OpKind::Split, {y}, {{"axis", one(-1)}, {"num_outputs", one(2)}}, 2);
    b.output(s3->output(1));
    testing::expect_kernels_match(*b.model,
                                  {{"x", seeded(dt, {4, 6, 9}, 1)}, {"y", seeded(dt, {4, 6, 5}, 2)},
                                   {"z", seeded(dt, {4, 6, 9}, 3)}},
                                  {0, 0});
  }
}

TEST(DataMovementLowering, ConcatSymbolic) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {2, Dim::symbol("n"), 8});
  Value* y = b.input("y", DType::F32, {2, Dim::symbol("m"), 8});
  Value* c = b.op(OpKind::Concat, {x, y, x}, {{"axis", one(1)}});
  b.output(c);
  Node* s = b.node(OpKind::Split, {c}, {{"axis", one(2)}}, 2);
  b.output(s->output(1));
  testing::CompiledKernels k = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(k.builtins, 0u) << k.dispatches;
  for (auto [n, m] : {std::pair{3, 1}, {0, 5}, {40, 7}})
    testing::expect_reference(*b.model, k, {{"x", seeded(DType::F32, {2, n, 8}, 1)}, {"y", seeded(DType::F32, {2, m, 8}, 2)}},
                              {0, 0});
}

TEST(DataMovementLowering, Slice) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(13);
    Value* x = b.input("x", dt, {10, 7, 33});
    auto slice = [&](std::vector<int64_t> starts, std::vector<int64_t> ends, std::vector<int64_t> axes,
                     std::vector<int64_t> steps) {
      b.output(b.op(OpKind::Slice, {x, b.ints("st", starts), b.ints("en", ends), b.ints("ax", axes),
                                    b.ints("sp", steps)}));
    };
    slice({1, 0}, {9, 31}, {0, 2}, {1, 1});
    slice({-3}, {100}, {2}, {1});                       // from the end; end past the axis
    slice({8, -1}, {1, -34}, {0, 2}, {-2, -3});         // negative steps to before the start
    slice({2}, {5}, {-2}, {2});
    slice({50}, {60}, {2}, {1});                        // empty
    slice({0, 0, 0}, {10, 7, 33}, {0, 1, 2}, {3, 2, 5});
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {10, 7, 33}, 4)}}, {0, 0});
  }
  // Opset 1: attributes.
  GraphBuilder b(9);
  Value* x = b.input("x", DType::F32, {6, 8});
  b.output(b.op(OpKind::Slice, {x}, {{"starts", ints({1, -5})}, {"ends", ints({4, 1000})}}));
  testing::expect_kernels_match(*b.model, {{"x", seeded(DType::F32, {6, 8}, 4)}}, {0, 0});
}

// Symbolic axes sliced to the end (shape inference takes a symbolic axis to be at least as
// long as the constants slicing it: n >= 2 here).
TEST(DataMovementLowering, SliceSymbolic) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {Dim::symbol("n"), 12});
  int64_t end = std::numeric_limits<int64_t>::max();
  b.output(b.op(OpKind::Slice, {x, b.ints("st", {1, 2}), b.ints("en", {end, 11}), b.ints("ax", {0, 1}),
                                b.ints("sp", {2, 3})}));
  b.output(b.op(OpKind::Slice, {x, b.ints("st", {-2}), b.ints("en", {end}), b.ints("ax", {0})}));
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  for (int64_t n : {2, 3, 9})
    testing::expect_reference(*b.model, c, {{"x", seeded(DType::F32, {n, 12}, 1)}}, {0, 0});
}

// A causal mask cut to the sequence length, the ends a shape value (Shape -> Gather ->
// Unsqueeze): the slices' extents are symbolic, known to the runtime, so they are kernels.
TEST(DataMovementLowering, SliceToShapeValue) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {1, Dim::symbol("seq")});
  Tensor tri(DType::Bool, {16, 16});
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j) tri.mutable_data<bool>()[i * 16 + j] = j <= i;
  Value* mask = b.g->add_constant("mask", tri);
  Value* shape = b.op(OpKind::Shape, {x});
  Value* len = b.op(OpKind::Gather, {shape, b.g->add_constant("one", Tensor::scalar<int64_t>(1))});
  Value* end = b.op(OpKind::Unsqueeze, {len, b.ints("ax", {0})});
  Value* rows = b.op(OpKind::Slice, {mask, b.ints("st", {0}), end, b.ints("ax", {0})});
  Value* cut = b.op(OpKind::Slice, {rows, b.ints("st", {0}), end, b.ints("ax", {1})});
  b.output(cut);
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.dispatches.find("builtin 'Slice"), std::string::npos) << c.dispatches;
  for (int64_t seq : {1, 5, 16})
    testing::expect_reference(*b.model, c, {{"x", seeded(DType::F32, {1, seq}, 1)}}, {0, 0});
}

TEST(DataMovementLowering, Pad) {
  for (DType dt : {DType::F32, DType::I8, DType::I64}) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(18);
    Value* x = b.input("x", dt, {3, 4, 21});
    for (const char* mode : {"constant", "edge", "reflect", "wrap"}) {
      b.output(b.op(OpKind::Pad, {x, b.ints("p", {1, 2, 3, 0, 1, 19})}, {{"mode", Attribute::of_string(mode)}}));
      // Negative pads crop; axes select the padded axes.
      b.output(b.op(OpKind::Pad, {x, b.ints("p", {-1, 5, 2, -3}), nullptr, b.ints("a", {2, 1})},
                    {{"mode", Attribute::of_string(mode)}}));
    }
    Value* cv = b.g->add_constant("cv", seeded(dt, {}, 9));
    b.output(b.op(OpKind::Pad, {x, b.ints("p", {0, 0, 2, 0, 0, 17}), cv}));
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {3, 4, 21}, 5)}}, {0, 0});
  }
  // Opset 2: attributes.
  GraphBuilder b(2);
  Value* x = b.input("x", DType::F32, {3, 5});
  b.output(b.op(OpKind::Pad, {x}, {{"pads", ints({1, 1, 2, 2})}, {"value", Attribute::of_float(1.5f)}}));
  testing::expect_kernels_match(*b.model, {{"x", seeded(DType::F32, {3, 5}, 5)}}, {0, 0});
}

TEST(DataMovementLowering, GatherConstantIndices) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(13);
    Value* x = b.input("x", dt, {5, 6, 40});
    Value* idx = b.g->add_constant("i", Tensor::from_vector<int64_t>({2, 2}, {0, -1, 3, 4}));
    for (int64_t axis : {0, 1, 2}) b.output(b.op(OpKind::Gather, {x, idx}, {{"axis", one(axis)}}));
    Value* scalar = b.g->add_constant("j", Tensor::scalar<int32_t>(-2));
    b.output(b.op(OpKind::Gather, {x, scalar}, {{"axis", one(1)}}));
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {5, 6, 40}, 6)}}, {0, 0});
  }
}

// Indices computed at run time, or constant ones out of range, stay with the builtin, which
// reports a bad index as an error.
TEST(DataMovementLowering, GatherDeclines) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {5, 6});
  Value* i = b.input("i", DType::I64, {3});
  Node* dynamic = b.node(OpKind::Gather, {x, i});
  Node* bad = b.node(OpKind::Gather, {x, b.g->add_constant("k", Tensor::from_vector<int64_t>({1}, {5}))});
  Node* bad_neg = b.node(OpKind::Gather, {x, b.g->add_constant("k", Tensor::from_vector<int64_t>({1}, {-7}))},
                         {{"axis", one(1)}});
  auto gen = make_mlir_kernel_generator(codegen::host_target());
  KernelSupport s = gen->support();
  EXPECT_FALSE(s.generates(*dynamic));
  EXPECT_FALSE(s.generates(*bad));
  EXPECT_FALSE(s.generates(*bad_neg));
}

TEST(DataMovementLowering, ExpandTileDepthSpace) {
  for (DType dt : kDtypes) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(13);
    Value* x = b.input("x", dt, {3, 1, 5});
    b.output(b.op(OpKind::Expand, {x, b.ints("s", {2, 3, 4, 5})}));
    b.output(b.op(OpKind::Expand, {x, b.ints("s", {3, 70, 1})}));
    b.output(b.op(OpKind::Tile, {x, b.ints("r", {2, 3, 4})}));
    b.output(b.op(OpKind::Tile, {x, b.ints("r", {1, 0, 1})}));
    Value* y = b.input("y", dt, {2, 8, 3, 5});
    b.output(b.op(OpKind::DepthToSpace, {y}, {{"blocksize", one(2)}}));
    b.output(b.op(OpKind::DepthToSpace, {y}, {{"blocksize", one(2)}, {"mode", Attribute::of_string("CRD")}}));
    Value* z = b.input("z", dt, {2, 3, 4, 6});
    b.output(b.op(OpKind::SpaceToDepth, {z}, {{"blocksize", one(2)}}));
    testing::expect_kernels_match(*b.model,
                                  {{"x", seeded(dt, {3, 1, 5}, 1)}, {"y", seeded(dt, {2, 8, 3, 5}, 2)},
                                   {"z", seeded(dt, {2, 3, 4, 6}, 3)}},
                                  {0, 0});
  }
}

}  // namespace
}  // namespace eave
