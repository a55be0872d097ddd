// Helpers for the lowering tests: compile a small graph with the MLIR kernel generator, run it
// through the runtime, and compare with the reference interpreter on the same inputs.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compiler/compile.h"
#include "lowering/mlir_kernel_generator.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"

namespace eave::testing {

using Inputs = std::vector<std::pair<std::string, Tensor>>;

struct CompiledRun {
  std::vector<std::vector<Tensor>> outputs;  // per input set
  std::vector<std::string> kernels;          // each Kernel dispatch as its fused op types, "Conv+Relu"
  size_t builtins = 0;
};

inline std::string describe(const Dispatch& d) {
  std::string s;
  for (const Node* n : d.nodes) s += (s.empty() ? "" : "+") + n->op_type();
  return s;
}

// Compiles a copy of `m` (host target, MLIR kernels) and runs it once per input set, in order,
// on one session with `threads` threads (later sets with larger shapes make it re-plan).
inline CompiledRun compile_and_run(const Model& m, const std::vector<Inputs>& runs, int threads = 2) {
  static bool once = (use_mlir_kernel_generator(), true);
  (void)once;
  auto copy = clone_model(m);
  CompiledModel c = compile_model(*copy, CompileOptions{});
  CompiledRun out;
  for (const Dispatch& d : c.dispatches) {
    if (d.kind == DispatchKind::Kernel) out.kernels.push_back(describe(d));
    if (d.kind == DispatchKind::Builtin) ++out.builtins;
  }
  auto rt = RuntimeModel::load_memory(std::move(c.artifact));
  RuntimeSession session(rt, threads);
  for (const Inputs& inputs : runs) out.outputs.push_back(session.run(inputs));
  return out;
}

// Runs `m` compiled and with the reference interpreter on each input set and expects every
// output to match within `tol`.
inline CompiledRun expect_matches_reference(const Model& m, const std::vector<Inputs>& runs,
                                            Tolerance tol = kF32KernelTolerance, int threads = 2) {
  CompiledRun got = compile_and_run(m, runs, threads);
  for (size_t r = 0; r < runs.size(); ++r) {
    ref::NamedValues named;
    for (const auto& [name, t] : runs[r]) named.emplace_back(name, ValueData(t));
    auto want = ref::run_model(m, named);
    EXPECT_EQ(got.outputs[r].size(), want.size());
    for (size_t i = 0; i < want.size() && i < got.outputs[r].size(); ++i) {
      std::string diff = compare_tensors(got.outputs[r][i], want[i].tensor, tol);
      EXPECT_TRUE(diff.empty()) << "run " << r << " output " << i << ": " << diff;
    }
  }
  return got;
}

}  // namespace eave::testing
