// Conv graphs compiled with the MLIR kernel generator against the reference interpreter: every
// attribute the lowering claims (strides, dilations, pads, auto_pad, groups, depthwise with a
// multiplier, 1-d, bias or not), dynamic batch, fused epilogues, and what must fall back.
#include <gtest/gtest.h>

#include "lowering/lowering.h"
#include "tests/codegen/lowering_test_util.h"

namespace eave::testing {
namespace {

struct ConvCase {
  std::vector<int64_t> x;  // N, C, spatial...
  int64_t m;               // output channels
  std::vector<int64_t> kernel;
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;
  std::string auto_pad;
  bool bias = true;
};

ConvCase conv_case(std::vector<int64_t> x, int64_t m, std::vector<int64_t> kernel, int64_t group = 1,
                   std::vector<int64_t> strides = {}, std::vector<int64_t> dilations = {},
                   std::vector<int64_t> pads = {}, std::string auto_pad = "", bool bias = true) {
  return {std::move(x), m, std::move(kernel), group, std::move(strides), std::move(dilations),
          std::move(pads), std::move(auto_pad), bias};
}

std::string describe(const ConvCase& c) {
  auto list = [](const std::vector<int64_t>& v) {
    std::string s;
    for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return "[" + s + "]";
  };
  return "x" + list(c.x) + " m" + std::to_string(c.m) + " k" + list(c.kernel) + " g" +
         std::to_string(c.group) + " s" + list(c.strides) + " d" + list(c.dilations) + " p" +
         list(c.pads) + " " + c.auto_pad + (c.bias ? " bias" : "");
}

// X -> Conv(W, B) -> Y with seeded constants; the batch dim symbolic when `dynamic_batch`.
std::unique_ptr<Model> conv_model(const ConvCase& c, bool dynamic_batch = false) {
  GraphBuilder g;
  std::vector<Dim> dims;
  for (size_t i = 0; i < c.x.size(); ++i)
    dims.push_back(i == 0 && dynamic_batch ? Dim::symbol("N") : Dim(c.x[i]));
  Value* x = g.input("x", DType::F32, dims);
  std::vector<int64_t> wdims = {c.m, c.x[1] / c.group};
  wdims.insert(wdims.end(), c.kernel.begin(), c.kernel.end());
  std::vector<Value*> ins = {x, g.random("w", wdims, 11)};
  if (c.bias) ins.push_back(g.random("b", {c.m}, 12));
  std::vector<std::pair<std::string, Attribute>> attrs;
  if (c.group != 1) attrs.push_back({"group", Attribute::of_int(c.group)});
  if (!c.strides.empty()) attrs.push_back({"strides", Attribute::of_ints(c.strides)});
  if (!c.dilations.empty()) attrs.push_back({"dilations", Attribute::of_ints(c.dilations)});
  if (!c.pads.empty()) attrs.push_back({"pads", Attribute::of_ints(c.pads)});
  if (!c.auto_pad.empty()) attrs.push_back({"auto_pad", Attribute::of_string(c.auto_pad)});
  attrs.push_back({"kernel_shape", Attribute::of_ints(c.kernel)});
  g.output(g.op(OpKind::Conv, ins, attrs));
  return std::move(g.model);
}

Inputs x_input(const std::vector<int64_t>& dims, uint32_t seed = 3) {
  return {{"x", random_tensor(DType::F32, dims, seed)}};
}

const ConvCase kCases[] = {
    conv_case({1, 8, 14, 14}, 16, {3, 3}, 1, {}, {}, {1, 1, 1, 1}),
    conv_case({2, 3, 17, 23}, 10, {3, 3}, 1, {}, {}, {1, 1, 1, 1}),
    conv_case({1, 6, 19, 21}, 9, {5, 3}, 1, {2, 2}, {}, {2, 1, 2, 1}),
    conv_case({1, 4, 20, 20}, 8, {3, 3}, 1, {}, {2, 2}, {2, 2, 2, 2}),
    conv_case({1, 3, 31, 29}, 7, {7, 7}, 1, {2, 2}, {}, {3, 3, 3, 3}, "", false),
    conv_case({1, 12, 9, 11}, 12, {3, 3}, 3, {}, {}, {1, 1, 1, 1}),
    conv_case({2, 32, 7, 7}, 40, {1, 1}),
    conv_case({1, 16, 9, 9}, 24, {1, 1}, 1, {2, 2}),
    conv_case({1, 6, 12, 13}, 5, {2, 4}, 1, {1, 3}, {}, {0, 2, 1, 0}),
    conv_case({1, 5, 11, 10}, 6, {3, 3}, 1, {2, 2}, {}, {}, "SAME_UPPER"),
    conv_case({1, 5, 11, 10}, 6, {4, 4}, 1, {3, 2}, {}, {}, "SAME_LOWER"),
    conv_case({1, 5, 11, 10}, 6, {3, 2}, 1, {}, {}, {}, "VALID"),
    conv_case({1, 4, 50}, 3, {5}, 1, {}, {2}, {4, 4}),                      // 1-d
    conv_case({1, 4, 37}, 6, {3}, 1, {2}, {}, {1, 0}),                       // 1-d, strided
    conv_case({1, 16, 15, 17}, 16, {3, 3}, 16, {}, {}, {1, 1, 1, 1}),        // depthwise
    conv_case({2, 8, 16, 33}, 8, {3, 3}, 8, {2, 2}, {}, {1, 1, 1, 1}),       // depthwise, stride 2
    conv_case({1, 4, 12, 12}, 12, {5, 5}, 4, {}, {2, 2}, {4, 4, 4, 4}),      // depthwise x3, dilated
    conv_case({1, 6, 9, 40}, 6, {3, 3}, 6, {3, 3}, {}, {0, 1, 2, 1}, "", false),  // depthwise stride 3
    conv_case({1, 64, 56, 56}, 64, {3, 3}, 1, {}, {}, {1, 1, 1, 1}),         // resnet's 3x3
    conv_case({1, 128, 7, 7}, 96, {3, 3}, 1, {}, {}, {1, 1, 1, 1}),          // small image, many channels
    conv_case({1, 4, 5, 7, 9}, 6, {3, 3, 2}, 2, {2, 1, 1}, {1, 1, 2}, {1, 1, 0, 1, 1, 1}),  // 3-d
    conv_case({2, 6, 3, 4, 5}, 8, {1, 1, 1}),                                 // 3-d 1x1x1
    conv_case({1, 3, 6, 5, 7}, 3, {3, 3, 3}, 3, {2, 1, 1}, {}, {1, 1, 1, 0, 1, 1}),  // 3-d depthwise
};

TEST(ConvLowering, MatchesReference) {
  for (const ConvCase& c : kCases) {
    SCOPED_TRACE(describe(c));
    auto m = conv_model(c);
    CompiledRun r = expect_matches_reference(*m, {x_input(c.x)});
    EXPECT_EQ(r.kernels, std::vector<std::string>{"Conv"});
    EXPECT_EQ(r.builtins, 0u);
  }
}

TEST(ConvLowering, DynamicBatch) {
  for (const ConvCase& c : {kCases[1], kCases[2], kCases[14]}) {
    SCOPED_TRACE(describe(c));
    auto m = conv_model(c, /*dynamic_batch=*/true);
    std::vector<int64_t> one = c.x, three = c.x;
    one[0] = 1;
    three[0] = 3;
    expect_matches_reference(*m, {x_input(one, 4), x_input(three, 5), x_input(one, 6)});
  }
}

// Conv -> Mul(per-channel) -> Add(per-channel) -> Add(residual) -> Clip(0, 6) in one kernel,
// then Sigmoid and HardSwish variants.
TEST(ConvLowering, FusedEpilogues) {
  for (int64_t group : {1, 8}) {
    for (int variant = 0; variant < 3; ++variant) {
      SCOPED_TRACE("group " + std::to_string(group) + " variant " + std::to_string(variant));
      GraphBuilder g;
      Value* x = g.input("x", DType::F32, {Dim::symbol("N"), 8, 10, 12});
      Value* r = g.input("r", DType::F32, {Dim::symbol("N"), 8, 10, 12});
      Value* y = g.op(OpKind::Conv, {x, g.random("w", {8, 8 / group, 3, 3}, 1)},
                      {{"pads", Attribute::of_ints({1, 1, 1, 1})}, {"group", Attribute::of_int(group)}});
      y = g.op(OpKind::Mul, {y, g.random("scale", {1, 8, 1, 1}, 2)});
      y = g.op(OpKind::Add, {y, g.random("shift", {8, 1, 1}, 3)});
      y = g.op(OpKind::Add, {y, r});
      if (variant == 0) y = g.op(OpKind::Clip, {y, g.scalar(0.0f), g.scalar(6.0f)});
      if (variant == 1) y = g.op(OpKind::Sigmoid, {y});
      if (variant == 2) y = g.op(OpKind::HardSwish, {y});
      g.output(y);
      Inputs in = {{"x", random_tensor(DType::F32, {2, 8, 10, 12}, 7)},
                   {"r", random_tensor(DType::F32, {2, 8, 10, 12}, 8)}};
      CompiledRun run = expect_matches_reference(*g.model, {in});
      ASSERT_EQ(run.kernels.size(), 1u);
      EXPECT_EQ(run.kernels[0].substr(0, 4), "Conv");
      EXPECT_EQ(std::count(run.kernels[0].begin(), run.kernels[0].end(), '+'), 4);
    }
  }
}

// A resnet block as exported: Conv -> BatchNormalization -> Relu, Conv -> BatchNormalization ->
// Add(shortcut) -> Relu. The graph passes fold each BatchNormalization into its Conv's weights
// and bias; what remains fuses into one kernel per Conv.
TEST(ConvLowering, ResnetBlockWithBatchNorm) {
  GraphBuilder g;
  auto bn = [&](Value* x, int64_t c, uint32_t seed) {
    Tensor var(DType::F32, {c});
    for (int64_t i = 0; i < c; ++i) var.mutable_data<float>()[i] = 0.5f + 0.1f * float(i % 7);
    Value* v = g.g->add_constant(g.g->unique_name("var"), std::move(var));
    return g.op(OpKind::BatchNormalization, {x, g.random("scale", {c}, seed), g.random("bias", {c}, seed + 1),
                                            g.random("mean", {c}, seed + 2), v});
  };
  std::vector<std::pair<std::string, Attribute>> same = {{"pads", Attribute::of_ints({1, 1, 1, 1})}};
  Value* x = g.input("x", DType::F32, {Dim::symbol("N"), 16, 12, 12});
  Value* y = g.op(OpKind::Relu, {bn(g.op(OpKind::Conv, {x, g.random("w1", {16, 16, 3, 3}, 1)}, same), 16, 10)});
  y = bn(g.op(OpKind::Conv, {y, g.random("w2", {16, 16, 3, 3}, 2)}, same), 16, 20);
  g.output(g.op(OpKind::Relu, {g.op(OpKind::Add, {y, x})}));
  CompiledRun r = expect_matches_reference(*g.model, {x_input({2, 16, 12, 12})});
  EXPECT_EQ(r.kernels, (std::vector<std::string>{"Conv+Relu", "Conv+Add+Relu"}));
}

// Consumers that read the Conv's result more than once (SiLU: x * sigmoid(x)) fuse as a region
// when exactly one result leaves it; otherwise, or when a region node needs a value computed
// later, they stay separate kernels.
TEST(ConvLowering, FusedRegions) {
  std::vector<std::pair<std::string, Attribute>> same = {{"pads", Attribute::of_ints({1, 1, 1, 1})}};
  auto conv = [&](GraphBuilder& g, Value* x, uint32_t seed) {
    return g.op(OpKind::Conv, {x, g.random("w", {8, 8, 3, 3}, seed), g.random("b", {8}, seed + 1)}, same);
  };
  Inputs in = {{"x", random_tensor(DType::F32, {2, 8, 9, 11}, 7)},
               {"r", random_tensor(DType::F32, {2, 8, 9, 11}, 8)}};
  {  // SiLU, then a residual add: one kernel
    GraphBuilder g;
    Value* c = conv(g, g.input("x", DType::F32, {Dim::symbol("N"), 8, 9, 11}), 1);
    Value* silu = g.op(OpKind::Mul, {c, g.op(OpKind::Sigmoid, {c})});
    g.output(g.op(OpKind::Add, {silu, g.input("r", DType::F32, {Dim::symbol("N"), 8, 9, 11})}));
    EXPECT_EQ(expect_matches_reference(*g.model, {in}).kernels,
              (std::vector<std::string>{"Conv+Sigmoid+Mul+Add"}));
  }
  {  // the Conv's result also feeds another Conv: it must be stored
    GraphBuilder g;
    Value* c = conv(g, g.input("x", DType::F32, {2, 8, 9, 11}), 1);
    g.output(g.op(OpKind::Mul, {c, g.op(OpKind::Sigmoid, {c})}));
    g.output(conv(g, c, 3));
    g.input("r", DType::F32, {2, 8, 9, 11});
    EXPECT_EQ(expect_matches_reference(*g.model, {in}).kernels,
              (std::vector<std::string>{"Conv", "Sigmoid+Mul", "Conv"}));
  }
  {  // the region {Sigmoid, Add, Mul} would read z before the Conv computing z runs
    GraphBuilder g;
    Value* x = g.input("x", DType::F32, {2, 8, 9, 11});
    Value* c = conv(g, x, 1);
    Value* s = g.op(OpKind::Sigmoid, {c});
    Value* z = conv(g, g.input("r", DType::F32, {2, 8, 9, 11}), 3);
    g.output(g.op(OpKind::Mul, {g.op(OpKind::Add, {c, z}), s}));
    EXPECT_EQ(expect_matches_reference(*g.model, {in}).kernels,
              (std::vector<std::string>{"Conv", "Sigmoid", "Conv+Add+Mul"}));
  }
  {  // two results leave the region (the sigmoid is a graph output too)
    GraphBuilder g;
    Value* c = conv(g, g.input("x", DType::F32, {2, 8, 9, 11}), 1);
    Value* s = g.op(OpKind::Sigmoid, {c});
    g.output(g.op(OpKind::Mul, {c, s}));
    g.output(s);
    g.input("r", DType::F32, {2, 8, 9, 11});
    EXPECT_EQ(expect_matches_reference(*g.model, {in}).kernels,
              (std::vector<std::string>{"Conv", "Sigmoid", "Mul"}));
  }
}

// A consumer whose other operand does not line up per channel stays a separate kernel.
TEST(ConvLowering, UnalignedOperandIsNotFused) {
  GraphBuilder g;
  Value* x = g.input("x", DType::F32, {1, 4, 6, 6});
  Value* y = g.op(OpKind::Conv, {x, g.random("w", {4, 4, 3, 3}, 1)},
                  {{"pads", Attribute::of_ints({1, 1, 1, 1})}});
  g.output(g.op(OpKind::Add, {y, g.random("row", {6}, 2)}));
  CompiledRun run = expect_matches_reference(*g.model, {x_input({1, 4, 6, 6})});
  EXPECT_EQ(run.kernels, (std::vector<std::string>{"Conv", "Add"}));
}

TEST(ConvLowering, WhatFallsBack) {
  GraphBuilder g;
  Value* x = g.input("x", DType::F32, {1, 4, 8, 8});
  Value* w = g.input("w", DType::F32, {4, 4, 3, 3});
  Node* runtime_weights = g.node(OpKind::Conv, {x, w});
  Node* runtime_bias = g.node(OpKind::Conv, {x, g.random("w1", {4, 4, 1, 1}), g.input("b", DType::F32, {4})});
  Node* conv4d = g.node(OpKind::Conv, {g.input("v", DType::F32, {1, 2, 3, 4, 4, 4}),
                                       g.random("w4", {2, 2, 1, 1, 1, 1})});
  Node* dynamic_spatial = g.node(OpKind::Conv, {g.input("d", DType::F32, {1, 4, Dim::symbol("H"), 8}),
                                                g.random("w2", {4, 4, 1, 1})});
  EXPECT_FALSE(lowering::lowers_conv(*runtime_weights));
  EXPECT_FALSE(lowering::lowers_conv(*runtime_bias));
  EXPECT_FALSE(lowering::lowers_conv(*conv4d));
  EXPECT_FALSE(lowering::lowers_conv(*dynamic_spatial));
}

}  // namespace
}  // namespace eave::testing
