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

// What the generated code looks like after bufferization (structured ops tagged with their
// schedules) and after the schedules (compiled only, so any target will do).
struct PrintedIr {
  std::string bufferized, scheduled;
};

inline PrintedIr compile_printing(const Model& m, const std::string& target, const std::string& cpu) {
  static bool once = (use_mlir_kernel_generator(), true);
  (void)once;
  auto copy = clone_model(m);
  CompileOptions o;
  o.target = target;
  o.cpu = cpu;
  o.pipeline.print_ir_after = {"bufferize", "schedule"};
  PrintedIr ir;
  o.pipeline.print = [&](const std::string& step, const std::string& text) {
    if (step == "bufferize") ir.bufferized = text;
    if (step == "schedule") ir.scheduled = text;
  };
  compile_model(*copy, o);
  return ir;
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

// ---- several input sets on one session, and the fused op types of each kernel

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
