// `eave compare`'s table and JSON: the first value over tolerance is marked, values without a
// reference are listed but not judged, infinities stay readable.
#include <gtest/gtest.h>

#include "tools/compare.h"

namespace eave {
namespace {

CompareReport sample() {
  CompareReport r;
  r.against = "reference";
  r.granularity = "dispatch";
  CompareRow good{"h", "fc1", "MatMul+Add+Relu", "f32", {2, 16}, true, true, {}, ""};
  good.agreement.max_abs = 1e-7;
  good.agreement.snr_db = 140;
  CompareRow made{"ln_out",
                  "LayerNorm_0",
                  "LayerNormalization",
                  "f32",
                  {2, 16},
                  false,
                  true,
                  {},
                  "no reference value (made by a graph pass)"};
  CompareRow bad{"y", "fc2", "Gemm", "f32", {2, 4}, true, false, {}, ""};
  bad.agreement.max_abs = 0.5;
  bad.agreement.cosine = 0.9;
  bad.agreement.snr_db = 12.5;
  CompareRow worse = bad;
  worse.value = "z";
  r.rows = {good, made, bad, worse};
  r.first_over = 2;
  return r;
}

TEST(CompareReport, TableMarksTheFirstValueOverTolerance) {
  std::string t = compare_table(sample(), false);
  EXPECT_NE(t.find("against the reference interpreter: 4 values"), std::string::npos) << t;
  EXPECT_NE(t.find(">>    2  fc2"), std::string::npos) << t;
  std::string marked = t.substr(t.find(">>"), t.find('\n', t.find(">>")) - t.find(">>"));
  EXPECT_NE(marked.find(" y "), std::string::npos) << marked;  // the value's name
  EXPECT_NE(marked.find("f32[2,4]"), std::string::npos) << marked;
  EXPECT_NE(t.find("<- first over tolerance"), std::string::npos) << t;
  EXPECT_NE(t.find(" !    3"), std::string::npos) << t;  // later ones are flagged, not marked
  EXPECT_NE(t.find("no reference value (made by a graph pass)"), std::string::npos) << t;
  EXPECT_NE(t.find("first value over tolerance: #2 'y' from fc2 (Gemm)"), std::string::npos) << t;
  EXPECT_EQ(t.find("\033["), std::string::npos);
  EXPECT_NE(compare_table(sample(), true).find("\033[1;31m"), std::string::npos);
}

TEST(CompareReport, JsonHasEveryRowAndNullForInfinity) {
  CompareReport r = sample();
  r.rows[0].agreement.snr_db = INFINITY;  // exact
  std::string j = compare_json(r);
  EXPECT_NE(j.find("\"first_over\": 2"), std::string::npos) << j;
  EXPECT_NE(j.find("\"snr_db\": null"), std::string::npos) << j;
  EXPECT_NE(j.find("\"value\": \"ln_out\", \"node\": \"LayerNorm_0\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"within_tolerance\": false"), std::string::npos) << j;
}

}  // namespace
}  // namespace eave
