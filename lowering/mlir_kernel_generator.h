// The MLIR kernel generator: what `eave compile` uses to generate code for Kernel dispatches.
// Families of ops lower in their own files (lowering/elementwise.cc, lowering/matmul.cc);
// this header includes nothing from MLIR.
#pragma once

#include <memory>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "compiler/kernel_generator.h"

namespace eave {

// Kernel symbols are `symbol_prefix` + "k<N>"; `codegen` names the code generation stages to
// print the IR after (codegen/mlir_to_object.h).
std::unique_ptr<KernelGenerator> make_mlir_kernel_generator(
    const codegen::TargetSpec& target, const std::string& symbol_prefix = "",
    const codegen::CompileOptions& codegen = {});

// Makes compile_model() use the MLIR generator (call once at startup of a tool).
void use_mlir_kernel_generator();

}  // namespace eave
