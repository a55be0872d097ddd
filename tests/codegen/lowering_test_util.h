// Helpers for the lowering tests: compile a small graph with the MLIR kernel generator, check
// which dispatches became kernels, run the artifact through the runtime on seeded inputs and
// compare with the reference interpreter.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "lowering/mlir_kernel_generator.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"

namespace eave::testing {

using Inputs = std::vector<std::pair<std::string, Tensor>>;

inline Attribute one(int64_t v) { return Attribute::of_int(v); }
inline Attribute ints(std::vector<int64_t> v) { return Attribute::of_ints(std::move(v)); }

// Seeded values: floats uniform in [-3, 3), signed integers in [-20, 20], unsigned in [0, 40],
// bools 0/1.
inline Tensor seeded(DType dt, std::vector<int64_t> dims, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  Tensor t(DType::F64, dims);
  double* p = t.mutable_data<double>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (is_float(dt)) p[i] = std::uniform_real_distribution<double>(-3, 3)(rng);
    else if (dt == DType::Bool) p[i] = double(rng() % 2);
    else if (dt == DType::U8 || dt == DType::U16 || dt == DType::U32 || dt == DType::U64)
      p[i] = double(rng() % 41);
    else p[i] = double(int(rng() % 41) - 20);
  }
  return t.cast(dt);
}

struct CompiledKernels {
  std::shared_ptr<RuntimeModel> rt;
  size_t kernels = 0, builtins = 0;
  std::string dispatches;  // the partition's listing
};

inline CompiledKernels compile_with_kernels(const Model& m) {
  static bool once = [] {
    use_mlir_kernel_generator();
    return true;
  }();
  (void)once;
  auto copy = clone_model(m);  // compiling rewrites the model
  CompileOptions o;
  std::string listing;
  o.pipeline.print_ir_after.insert("partition");
  o.pipeline.print = [&](const std::string& stage, const std::string& text) {
    if (stage == "partition") listing = text;
  };
  CompiledModel c = compile_model(*copy, o);
  return {RuntimeModel::load_memory(std::move(c.artifact)), c.kernel_count, c.builtin_count, listing};
}

// Runs the compiled model with `threads` threads and the reference on `inputs`; every output
// must match within `tol`.
inline void expect_reference(const Model& m, const CompiledKernels& c, const Inputs& inputs,
                             Tolerance tol, int threads = 3) {
  RuntimeSession s(c.rt, threads);
  std::vector<Tensor> got = s.run(inputs);
  ref::NamedValues named(inputs.begin(), inputs.end());
  std::vector<ValueData> want = ref::run_model(m, named);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff = compare_values(ValueData(got[i]), want[i], tol);
    EXPECT_TRUE(diff.empty()) << "output " << i << " (" << m.graph->outputs()[i]->name()
                              << "): " << diff << "\n" << c.dispatches;
  }
}

// Compiles `m`, expects every dispatch to be generated code (or a view), and compares with
// the reference on `inputs`.
inline void expect_kernels_match(const Model& m, const Inputs& inputs, Tolerance tol, int threads = 3) {
  CompiledKernels c = compile_with_kernels(m);
  EXPECT_EQ(c.builtins, 0u) << c.dispatches;
  EXPECT_GT(c.kernels, 0u) << c.dispatches;
  expect_reference(m, c, inputs, tol, threads);
}

inline Tolerance tolerance_for(DType t) { return reordered_float_tolerance(t); }

}  // namespace eave::testing
