#include "ir/dim.h"

#include <gtest/gtest.h>

namespace eave {
namespace {

const Dim batch = Dim::symbol("batch");
const Dim seq = Dim::symbol("seq");

TEST(Dim, ConstantsFold) {
  EXPECT_EQ(Dim(3) + Dim(4), Dim(7));
  EXPECT_EQ(Dim(3) * Dim(4), Dim(12));
  EXPECT_EQ(Dim::ceildiv(Dim(7), Dim(2)), Dim(4));
  EXPECT_EQ(Dim::floordiv(Dim(-7), Dim(2)), Dim(-4));
  EXPECT_EQ(Dim::mod(Dim(-7), Dim(3)), Dim(2));
  EXPECT_TRUE((Dim(3) + Dim(4)).is_const());
}

TEST(Dim, CanonicalFormMakesEqualExpressionsEqual) {
  EXPECT_EQ(batch * seq * Dim(64), Dim(64) * seq * batch);
  EXPECT_EQ((seq + Dim(1)) - Dim(1), seq);
  EXPECT_EQ(batch * (seq + Dim(2)), batch * seq + Dim(2) * batch);
  EXPECT_NE(batch, seq);
  EXPECT_TRUE(((seq + Dim(1)) - Dim(1)).is_symbol());
}

TEST(Dim, ExactDivisionSimplifies) {
  EXPECT_EQ(Dim::floordiv(batch * Dim(12), Dim(4)), batch * Dim(3));
  EXPECT_EQ(Dim::floordiv(batch * seq * Dim(768), batch * seq * Dim(12)), Dim(64));
  EXPECT_EQ(Dim::floordiv(batch * seq, seq), batch);
  EXPECT_EQ(Dim::mod(batch * Dim(6), Dim(3)), Dim(0));
  EXPECT_FALSE(Dim::floordiv(seq, Dim(2)).is_const());
}

TEST(Dim, MaxMinFoldWhenDifferenceIsConstant) {
  EXPECT_EQ(Dim::max(seq + Dim(1), seq), seq + Dim(1));
  EXPECT_EQ(Dim::min(seq + Dim(1), seq), seq);
  EXPECT_EQ(Dim::max(batch, seq), Dim::max(seq, batch));
}

TEST(Dim, EvaluatesAndSubstitutes) {
  Dim e = Dim::ceildiv(batch * seq + Dim(3), Dim(2));
  auto lookup = [](const std::string& s) -> std::optional<int64_t> {
    if (s == "batch") return 2;
    if (s == "seq") return 5;
    return std::nullopt;
  };
  EXPECT_EQ(e.eval(lookup), 7);
  EXPECT_EQ(Dim::symbol("other").eval(lookup), std::nullopt);
  Dim sub = e.substitute([](const std::string& s) -> std::optional<Dim> {
    if (s == "batch") return Dim(4);
    return std::nullopt;
  });
  EXPECT_EQ(sub, Dim::ceildiv(Dim(4) * seq + Dim(3), Dim(2)));
  EXPECT_EQ(e.symbols(), (std::vector<std::string>{"batch", "seq"}));
}

TEST(Dim, PrintsReadably) {
  EXPECT_EQ((Dim(2) * seq + Dim(1)).str(), "2*seq + 1");
  EXPECT_EQ((batch * seq).str(), "batch*seq");
  EXPECT_EQ(Dim::ceildiv(seq, Dim(2)).str(), "ceil(seq/2)");
  EXPECT_EQ((seq - Dim(1)).str(), "seq - 1");
}

TEST(Shape, NumelAndStatic) {
  Shape s({batch, Dim(3), Dim(4)});
  EXPECT_EQ(s.numel(), batch * Dim(12));
  EXPECT_FALSE(s.is_static());
  EXPECT_TRUE(Shape::from_ints({2, 3}).is_static());
  EXPECT_EQ(s.str(), "[batch,3,4]");
  EXPECT_EQ(Shape().str(), "[?]");
}

}  // namespace
}  // namespace eave
