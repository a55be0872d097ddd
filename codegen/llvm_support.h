// LLVM plumbing shared by the codegen translation units (not part of the codegen API).
#pragma once

#include <memory>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"

namespace llvm {
class Module;
class Target;
class TargetMachine;
}  // namespace llvm

namespace eave::codegen::detail {

// Registers every LLVM target this LLVM was built with; thread-safe, runs once.
void initialize_llvm_targets();

// Throws Error naming the triple when LLVM has no such target.
const llvm::Target& lookup_llvm_target(const TargetSpec& target);

// A TargetMachine for position-independent code at -O3, one section per function.
std::unique_ptr<llvm::TargetMachine> make_target_machine(const TargetSpec& target);

// Sets the triple, data layout, per-function CPU/features and nounwind on a module for `tm`.
void prepare_llvm_module(llvm::Module& m, llvm::TargetMachine& tm, const TargetSpec& target);

// Verifies `m` and emits it as an object file.
Bytes emit_object(llvm::Module& m, llvm::TargetMachine& tm);

}  // namespace eave::codegen::detail
