// Normalizations as generated kernels (lowering/normalization.cc) against the reference
// interpreter: Softmax/LogSoftmax in both opset semantics and every axis, LayerNorm with its
// optional outputs and parameter forms, InstanceNorm, GroupNorm (opsets 18 and 21), inference
// BatchNorm, for the float dtypes, with symbolic dims and fused consumers.
#include <cmath>
#include <limits>

#include "tests/codegen/lowering_test_util.h"

namespace eave {
namespace {

using testing::GraphBuilder;
using testing::Inputs;
using testing::seeded;

using testing::one;

const DType kFloats[] = {DType::F32, DType::F16, DType::BF16, DType::F64};

// A float tensor of `dt` with seeded values.
Value* param(GraphBuilder& b, const std::string& name, DType dt, std::vector<int64_t> dims, uint32_t seed) {
  return b.g->add_constant(b.g->unique_name(name), seeded(dt, std::move(dims), seed));
}

TEST(NormalizationLowering, SoftmaxEveryAxisBothOpsets) {
  for (DType dt : kFloats) {
    for (int64_t opset : {11, 13}) {
      SCOPED_TRACE(str_cat(dtype_name(dt), " opset ", opset));
      GraphBuilder b(opset);
      Value* x = b.input("x", dt, {3, 37, 21});
      for (OpKind op : {OpKind::Softmax, OpKind::LogSoftmax})
        for (int64_t axis : {0, 1, 2, -1, -2})
          b.output(b.op(op, {x}, {{"axis", one(axis)}}));
      if (opset < 13) b.output(b.op(OpKind::Softmax, {x}, {{"axis", one(3)}}));  // rows of one
      testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {3, 37, 21}, 3)}}, testing::tolerance_for(dt));
    }
  }
}

// Large magnitudes, -inf entries (masked attention), a row entirely -inf (NaN, as the
// reference), +inf and NaN.
TEST(NormalizationLowering, SoftmaxSpecialValues) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::F32, {6, 50});
  b.output(b.op(OpKind::Softmax, {x}));
  b.output(b.op(OpKind::LogSoftmax, {x}));
  b.output(b.op(OpKind::Softmax, {x}, {{"axis", one(0)}}));
  Tensor t = seeded(DType::F32, {6, 50}, 8);
  float* p = t.mutable_data<float>();
  float inf = std::numeric_limits<float>::infinity();
  for (int i = 0; i < 50; ++i) p[i] *= 1000;          // row 0: large
  for (int i = 10; i < 50; ++i) p[50 + i] = -inf;     // row 1: causal mask
  for (int i = 0; i < 50; ++i) p[100 + i] = -inf;     // row 2: all masked
  p[150 + 7] = inf;                                   // row 3: +inf
  p[200 + 49] = NAN;                                  // row 4: NaN in the tail
  testing::expect_kernels_match(*b.model, {{"x", t}}, testing::tolerance_for(DType::F32));
}

TEST(NormalizationLowering, LayerNorm) {
  for (DType dt : kFloats) {
    SCOPED_TRACE(dtype_name(dt));
    GraphBuilder b(17);
    Value* x = b.input("x", dt, {4, 5, 67});
    // Per-feature scale and bias; axis -2 with [5, 67] parameters; no bias; scalar scale;
    // statistics in double.
    b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", dt, {67}, 1), param(b, "b", dt, {67}, 2)}));
    b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", dt, {5, 67}, 3), param(b, "b", dt, {1, 5, 67}, 4)},
                  {{"axis", one(-2)}, {"epsilon", Attribute::of_float(1e-3f)}}));
    b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", dt, {67}, 5)}));
    b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", dt, {1}, 6), param(b, "b", dt, {67}, 7)},
                  {{"stash_type", one(11)}}));
    b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", dt, {4, 5, 67}, 8)}, {{"axis", one(0)}}));
    // Statistics in float (stash_type 1) make f64 results float-accurate.
    testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {4, 5, 67}, 9)}},
                                  testing::tolerance_for(dt == DType::F64 ? DType::F32 : dt));
  }
}

// Mean and InvStdDev outputs, and the accuracy of the one-pass statistics, judged against the
// same model in double: rows whose mean is large against their spread (1000 +- 3: summing them
// in f32, as the reference's two passes do, loses more than the shifted sums), a row starting
// with an outlier (the shift), a constant row (variance 0).
TEST(NormalizationLowering, LayerNormStatistics) {
  auto model = [](DType dt) {
    GraphBuilder b(17);
    Value* x = b.input("x", dt, {5, 300});
    Node* n = b.node(OpKind::LayerNormalization, {x, param(b, "s", dt, {300}, 1), param(b, "b", dt, {300}, 2)},
                     {{"stash_type", one(dt == DType::F64 ? 11 : 1)}}, 3);
    for (Value* v : n->outputs()) b.output(v);
    return std::move(b.model);
  };
  Tensor t = seeded(DType::F32, {5, 300}, 4);
  float* p = t.mutable_data<float>();
  for (int i = 0; i < 300; ++i) p[i] += 1000;
  p[300] = -500;
  for (int i = 0; i < 300; ++i) p[600 + i] = 2.5f;
  auto f32 = model(DType::F32);
  testing::CompiledKernels c = testing::compile_with_kernels(*f32);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  RuntimeSession s(c.rt, 2);
  std::vector<Tensor> got = s.run({{"x", t}});
  std::vector<ValueData> want = ref::run_model(*model(DType::F64), {{"x", t.cast(DType::F64)}});
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    std::string diff = compare_tensors(got[i].cast(DType::F64), want[i].tensor, {3e-5, 3e-5});
    EXPECT_TRUE(diff.empty()) << "output " << i << ": " << diff;
  }
}

TEST(NormalizationLowering, SymbolicRows) {
  GraphBuilder b(17);
  Value* x = b.input("x", DType::F32, {Dim::symbol("batch"), Dim::symbol("seq"), 96});
  b.output(b.op(OpKind::LayerNormalization, {x, param(b, "s", DType::F32, {96}, 1), param(b, "b", DType::F32, {96}, 2)}));
  b.output(b.op(OpKind::Softmax, {x}));
  b.output(b.op(OpKind::Softmax, {x}, {{"axis", one(1)}}));
  Value* y = b.input("y", DType::F32, {2, Dim::symbol("seq")});
  b.output(b.op(OpKind::LogSoftmax, {y}));
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  for (int64_t seq : {1, 7, 33}) {
    SCOPED_TRACE(seq);
    testing::expect_reference(*b.model, c,
                              {{"x", seeded(DType::F32, {2, seq, 96}, uint32_t(seq))},
                               {"y", seeded(DType::F32, {2, seq}, 5)}},
                              testing::tolerance_for(DType::F32));
  }
}

// Consumers fuse: a per-feature Mul and a residual Add after LayerNorm, a Cast after Softmax.
TEST(NormalizationLowering, FusedConsumers) {
  GraphBuilder b(17);
  Value* x = b.input("x", DType::F32, {16, 128});
  Value* r = b.input("r", DType::F32, {16, 128});
  Value* ln = b.op(OpKind::LayerNormalization, {x, param(b, "s", DType::F32, {128}, 1), param(b, "b", DType::F32, {128}, 2)});
  Value* m = b.op(OpKind::Mul, {ln, param(b, "g", DType::F32, {1, 128}, 3)});
  b.output(b.op(OpKind::Add, {m, r}));
  Value* sm = b.op(OpKind::Softmax, {x});
  b.output(b.op(OpKind::Cast, {sm}, {{"to", one(10)}}));  // to float16
  testing::CompiledKernels c = testing::compile_with_kernels(*b.model);
  EXPECT_EQ(c.kernels, 2u) << c.dispatches;
  testing::expect_reference(*b.model, c, {{"x", seeded(DType::F32, {16, 128}, 1)}, {"r", seeded(DType::F32, {16, 128}, 2)}},
                            {2e-3, 1e-4});
}

TEST(NormalizationLowering, InstanceGroupBatchNorm) {
  for (DType dt : kFloats) {
    SCOPED_TRACE(dtype_name(dt));
    // Opset 18: GroupNorm parameters per group; 21: per channel.
    for (int64_t opset : {18, 21}) {
      GraphBuilder b(opset);
      Value* x = b.input("x", dt, {2, 6, 5, 7});
      b.output(b.op(OpKind::InstanceNormalization, {x, param(b, "s", dt, {6}, 1), param(b, "b", dt, {6}, 2)},
                    {{"epsilon", Attribute::of_float(1e-2f)}}));
      int64_t per = opset >= 21 ? 6 : 3;
      b.output(b.op(OpKind::GroupNormalization, {x, param(b, "s", dt, {per}, 3), param(b, "b", dt, {per}, 4)},
                    {{"num_groups", one(3)}}));
      // BatchNorm with parameters given as inputs (not folded into anything).
      Value* mean = b.input("mean", dt, {6});
      Value* var = b.input("var", dt, {6});
      b.output(b.op(OpKind::BatchNormalization, {x, param(b, "s", dt, {6}, 5), param(b, "b", dt, {6}, 6), mean, var}));
      Tensor v = seeded(DType::F32, {6}, 8);
      for (float& f : v.mutable_span<float>()) f = std::abs(f) + 0.1f;
      testing::expect_kernels_match(*b.model, {{"x", seeded(dt, {2, 6, 5, 7}, 7)}, {"mean", seeded(dt, {6}, 9)},
                                               {"var", v.cast(dt)}},
                                    testing::tolerance_for(dt == DType::F64 && opset >= 21 ? DType::F32 : dt));
    }
  }
}

// Training-mode BatchNorm and a LayerNorm whose scale varies along a non-normalized axis stay
// builtins.
TEST(NormalizationLowering, Declines) {
  GraphBuilder b(15);
  Value* x = b.input("x", DType::F32, {2, 3, 4});
  Node* bn = b.node(OpKind::BatchNormalization,
                    {x, param(b, "s", DType::F32, {3}, 1), param(b, "b", DType::F32, {3}, 2),
                     param(b, "m", DType::F32, {3}, 3), param(b, "v", DType::F32, {3}, 4)},
                    {{"training_mode", one(1)}}, 3);
  Node* ln = b.node(OpKind::LayerNormalization, {x, param(b, "s", DType::F32, {2, 1, 4}, 5)});
  auto gen = make_mlir_kernel_generator(codegen::host_target());
  EXPECT_FALSE(gen->support().generates(*bn));
  EXPECT_FALSE(gen->support().generates(*ln));
}

}  // namespace
}  // namespace eave
