// Helpers for tests that run compiled models through the runtime (tools/runtime_session.h).
#pragma once

#include "tests/test_util.h"
#include "tools/runtime_session.h"

namespace eave::testing {

using Inputs = std::vector<std::pair<std::string, Tensor>>;

// Runs session `s` and the reference interpreter on `inputs`; every output must match exactly.
inline void expect_matches_reference(const Model& m, RuntimeSession& s, const Inputs& inputs) {
  std::vector<Tensor> got = s.run(inputs);
  ref::NamedValues named(inputs.begin(), inputs.end());
  std::vector<ValueData> want = ref::run_model(m, named);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff = compare_values(ValueData(got[i]), want[i], {0, 0});
    EXPECT_TRUE(diff.empty()) << "output " << i << ": " << diff;
  }
}

}  // namespace eave::testing
