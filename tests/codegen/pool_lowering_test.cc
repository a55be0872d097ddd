// MaxPool, AveragePool and the global pools compiled with the MLIR kernel generator against
// the reference interpreter, over kernel sizes, strides, dilations, pads, auto_pad, ceil_mode
// and count_include_pad; and what must fall back.
#include <gtest/gtest.h>

#include "lowering/lowering.h"
#include "tests/codegen/lowering_test_util.h"

namespace eave::testing {
namespace {

struct PoolCase {
  std::vector<int64_t> x;
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad;
  bool ceil_mode = false;
};

PoolCase pool_case(std::vector<int64_t> x, std::vector<int64_t> kernel, std::vector<int64_t> strides = {},
                   std::vector<int64_t> dilations = {}, std::vector<int64_t> pads = {},
                   std::string auto_pad = "", bool ceil_mode = false) {
  return {std::move(x), std::move(kernel), std::move(strides), std::move(dilations),
          std::move(pads), std::move(auto_pad), ceil_mode};
}

std::unique_ptr<Model> pool_model(OpKind op, const PoolCase& c, bool count_include_pad = false,
                                  bool dynamic_batch = false) {
  GraphBuilder g(19);
  std::vector<Dim> dims;
  for (size_t i = 0; i < c.x.size(); ++i)
    dims.push_back(i == 0 && dynamic_batch ? Dim::symbol("N") : Dim(c.x[i]));
  Value* x = g.input("x", DType::F32, dims);
  std::vector<std::pair<std::string, Attribute>> attrs = {{"kernel_shape", Attribute::of_ints(c.kernel)}};
  if (!c.strides.empty()) attrs.push_back({"strides", Attribute::of_ints(c.strides)});
  if (!c.dilations.empty()) attrs.push_back({"dilations", Attribute::of_ints(c.dilations)});
  if (!c.pads.empty()) attrs.push_back({"pads", Attribute::of_ints(c.pads)});
  if (!c.auto_pad.empty()) attrs.push_back({"auto_pad", Attribute::of_string(c.auto_pad)});
  if (c.ceil_mode) attrs.push_back({"ceil_mode", Attribute::of_int(1)});
  if (count_include_pad) attrs.push_back({"count_include_pad", Attribute::of_int(1)});
  g.output(g.op(op, {x}, attrs));
  return std::move(g.model);
}

const PoolCase kCases[] = {
    pool_case({1, 3, 16, 16}, {2, 2}, {2, 2}),
    pool_case({2, 4, 112, 112}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}),   // resnet's
    pool_case({1, 5, 17, 23}, {3, 3}, {2, 2}, {}, {1, 1, 1, 1}, "", true),
    pool_case({1, 2, 15, 40}, {3, 5}, {3, 3}, {}, {0, 2, 1, 2}),
    pool_case({1, 2, 20, 20}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}),
    pool_case({1, 3, 11, 10}, {3, 3}, {2, 2}, {}, {}, "SAME_UPPER"),
    pool_case({1, 3, 11, 10}, {4, 4}, {3, 2}, {}, {}, "SAME_LOWER"),
    pool_case({1, 3, 13, 14}, {5, 5}, {2, 2}, {}, {2, 2, 2, 2}, "", true),
    pool_case({1, 4, 7, 7}, {7, 7}),
    pool_case({1, 3, 45}, {4}, {1}, {}, {1, 2}),                      // 1-d
    pool_case({1, 3, 45}, {3}, {2}, {2}, {1, 1}, "", true),           // 1-d, dilated, ceil
    pool_case({1, 2, 6, 7, 9}, {3, 2, 3}, {2, 1, 2}, {}, {1, 0, 1, 1, 1, 1}, "", true),  // 3-d
};

TEST(PoolLowering, MaxPool) {
  for (const PoolCase& c : kCases) {
    auto m = pool_model(OpKind::MaxPool, c);
    CompiledRun r = expect_matches_reference(*m, {{{"x", random_tensor(DType::F32, c.x)}}}, kConformanceTolerance);
    EXPECT_EQ(r.kernels, std::vector<std::string>{"MaxPool"});
  }
}

TEST(PoolLowering, AveragePool) {
  for (const PoolCase& c : kCases)
    for (bool include_pad : {false, true}) {
      auto m = pool_model(OpKind::AveragePool, c, include_pad);
      CompiledRun r = expect_matches_reference(*m, {{{"x", random_tensor(DType::F32, c.x)}}}, kConformanceTolerance);
      EXPECT_EQ(r.kernels, std::vector<std::string>{"AveragePool"});
    }
}

TEST(PoolLowering, DynamicBatch) {
  auto m = pool_model(OpKind::MaxPool, kCases[2], false, true);
  expect_matches_reference(*m, {{{"x", random_tensor(DType::F32, {2, 5, 17, 23})}},
                                {{"x", random_tensor(DType::F32, {3, 5, 17, 23})}}},
                           kConformanceTolerance);
}

TEST(PoolLowering, GlobalPools) {
  for (OpKind op : {OpKind::GlobalAveragePool, OpKind::GlobalMaxPool})
    for (std::vector<int64_t> dims : {std::vector<int64_t>{2, 64, 7, 7}, {1, 3, 50}, {1, 5, 9, 9, 3}}) {
      GraphBuilder g;
      std::vector<Dim> d(dims.begin(), dims.end());
      d[0] = Dim::symbol("N");
      g.output(g.op(op, {g.input("x", DType::F32, d)}));
      CompiledRun r = expect_matches_reference(*g.model, {{{"x", random_tensor(DType::F32, dims)}}},
                                               kConformanceTolerance);
      EXPECT_EQ(r.kernels.size(), 1u);
    }
}

TEST(PoolLowering, WhatFallsBack) {
  GraphBuilder g;
  Value* x = g.input("x", DType::F32, {1, 2, 8, 8});
  Node* indices = g.node(OpKind::MaxPool, {x}, {{"kernel_shape", Attribute::of_ints({2, 2})}}, 2);
  g.output(indices->output(1));
  Node* int8 = g.node(OpKind::MaxPool, {g.input("q", DType::U8, {1, 2, 8, 8})},
                      {{"kernel_shape", Attribute::of_ints({2, 2})}});
  Node* pool4d = g.node(OpKind::MaxPool, {g.input("v", DType::F32, {1, 2, 4, 4, 4, 4})},
                        {{"kernel_shape", Attribute::of_ints({2, 2, 2, 2})}});
  EXPECT_FALSE(lowering::lowers_pool(*indices));
  EXPECT_FALSE(lowering::lowers_pool(*int8));
  EXPECT_FALSE(lowering::lowers_pool(*pool4d));
}

}  // namespace
}  // namespace eave::testing
