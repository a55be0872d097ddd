#include "tests/test_util.h"
#include "transforms/passes.h"

namespace eave {
namespace {

using testing::GraphBuilder;

// ConvTranspose x [2, 3, 5, 4] with weights [3, 4, kh, kw], bias [4] and `attrs`.
std::unique_ptr<Model> conv_transpose(int64_t kh, int64_t kw,
                                      std::vector<std::pair<std::string, Attribute>> attrs) {
  GraphBuilder b;
  Value* x = b.input("x", DType::F32, {2, 3, 5, 4});
  b.output(b.op(OpKind::ConvTranspose, {x, b.random("w", {3, 4, kh, kw}, 3), b.random("b", {4}, 4)},
                std::move(attrs)));
  return std::move(b.model);
}

TEST(DecomposeConvTranspose, KernelTilingTheOutputBecomesAMatMul) {
  for (auto [kh, kw] : {std::pair<int64_t, int64_t>{2, 2}, {3, 2}, {1, 1}}) {
    auto m = conv_transpose(kh, kw, {{"strides", Attribute::of_ints({kh, kw})}});
    auto before = testing::clone_model(*m);
    decompose_conv_transpose(*m);
    verify(*m);
    EXPECT_EQ(testing::count_ops(*m->graph, OpKind::ConvTranspose), 0u);
    EXPECT_EQ(testing::count_ops(*m->graph, OpKind::MatMul), 1u);
    EXPECT_EQ(m->graph->outputs()[0]->shape().str(),
              "[2,4," + std::to_string(5 * kh) + "," + std::to_string(4 * kw) + "]");
    testing::expect_same_outputs(*before, *m, {{"x", testing::random_tensor(DType::F32, {2, 3, 5, 4})}},
                                 {1e-5, 1e-5});
  }
}

TEST(DecomposeConvTranspose, OverlappingOrPaddedKernelsStay) {
  std::vector<std::vector<std::pair<std::string, Attribute>>> cases = {
      {{"strides", Attribute::of_ints({1, 1})}},
      {{"strides", Attribute::of_ints({2, 2})}, {"pads", Attribute::of_ints({1, 0, 1, 0})}},
      {{"strides", Attribute::of_ints({2, 2})}, {"output_padding", Attribute::of_ints({1, 1})}},
      {{"strides", Attribute::of_ints({2, 2})}, {"dilations", Attribute::of_ints({2, 2})}},
  };
  for (auto& attrs : cases) {
    auto m = conv_transpose(2, 2, attrs);
    decompose_conv_transpose(*m);
    EXPECT_EQ(testing::count_ops(*m->graph, OpKind::ConvTranspose), 1u);
  }
}

}  // namespace
}  // namespace eave
