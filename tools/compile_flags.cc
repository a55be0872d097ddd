#include "tools/compile_flags.h"

#include <algorithm>
#include <cstdlib>

#include "support/error.h"

namespace eave {

namespace {

DimBounds parse_bound(const std::string& name, const std::string& spec) {
  // MAX, or MIN..MAX
  DimBounds b;
  auto to_int = [&](const std::string& s) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    EAVE_CHECK(!s.empty() && end && *end == 0 && v >= 0, "--dim-bound ", name,
               ": expected MAX or MIN..MAX, got '", spec, "'");
    return int64_t(v);
  };
  auto dots = spec.find("..");
  if (dots == std::string::npos) {
    b.max = to_int(spec);
  } else {
    b.min = to_int(spec.substr(0, dots));
    b.max = to_int(spec.substr(dots + 2));
  }
  EAVE_CHECK(b.min <= b.max, "--dim-bound ", name, ": min ", b.min, " is above max ", b.max);
  b.nominal = std::max<int64_t>(b.max, 1);
  return b;
}

}  // namespace

void add_compile_flags(ArgParser& p, CompileFlags& f) {
  p.option("--target", &f.target, "host (default), x86_64, aarch64 or riscv64", "T");
  p.option("--cpu", &f.cpu, "CPU for the target: x86-64-v3, znver4, neoverse-n1, ...", "CPU");
  p.option("--precision", &f.precision,
           "numeric precision: fp32 (default; the only one until quantization lands)", "P");
  p.repeated("--input-shape", &f.input_shapes,
             "fix or name an input's dims: x=1x3x224x224, ids=batchxseq (repeat per input)",
             "NAME=DIMS");
  p.repeated("--dim-bound", &f.dim_bounds,
             "bound a named dim: batch=16 or seq=1..512 (arena planned for the max)", "NAME=MAX");
  p.repeated("--print-ir-after", &f.print_ir_after,
             "print the IR after a step: a graph pass, 'partition' (the dispatches), a codegen "
             "stage (bufferize, schedule, to-llvm, llvm-opt, ...) or MLIR pass, or 'all'", "STEP");
  p.flag("--no-kernels", &f.no_kernels, "generate no code: run every op as a runtime builtin");
}

CompileOptions compile_options_from_flags(const CompileFlags& f) {
  CompileOptions o;
  o.target = f.target;
  o.cpu = f.cpu;
  check_precision(f.precision);
  o.precision = f.precision;
  for (const auto& s : f.input_shapes) {
    auto [name, dims] = split_assignment(s, "--input-shape");
    o.input_shapes[name] = dims;
  }
  for (const auto& s : f.dim_bounds) {
    auto [name, spec] = split_assignment(s, "--dim-bound");
    o.dim_bounds[name] = parse_bound(name, spec);
  }
  for (const auto& s : f.print_ir_after) {
    check_print_step(s);
    o.pipeline.print_ir_after.insert(s);
  }
  o.generate_kernels = !f.no_kernels;
  return o;
}

}  // namespace eave
