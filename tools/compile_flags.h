// The compile options of the CLI (`eave compile`, `eave compare`) and of the Python API
// (eave.compile), defined once: both spell them the same way ("x=1x3x224x224",
// "seq=1..512") and get the same errors for bad ones.
#pragma once

#include <string>
#include <vector>

#include "compiler/compile.h"
#include "support/args.h"

namespace eave {

// What the flags hold before they are checked and applied to CompileOptions.
struct CompileFlags {
  std::string target = "host";
  std::string cpu;
  std::string precision = "fp32";
  std::vector<std::string> input_shapes;  // NAME=DIMS
  std::vector<std::string> dim_bounds;    // NAME=MAX or NAME=MIN..MAX
  std::vector<std::string> print_ir_after;
  bool no_kernels = false;
};

// Registers --target, --cpu, --precision, --input-shape, --dim-bound, --print-ir-after and
// --no-kernels on `p`, writing into `f`.
void add_compile_flags(ArgParser& p, CompileFlags& f);

// Checks the flags and turns them into options; Errors name the flag at fault.
CompileOptions compile_options_from_flags(const CompileFlags& f);

}  // namespace eave
