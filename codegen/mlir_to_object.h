// MLIR to native code. Takes a module of func.func kernel bodies (on tensors or memrefs; linalg,
// tensor, arith, math, scf, vector, with an optional transform-dialect schedule named
// `__transform_main`), lowers it to LLVM, wraps every body in the kernel ABI of
// docs/design/runtime-artifact.md and emits an object file for a TargetSpec. Separately: the
// `eave_kernels` table object and the link of objects into the artifact's shared object.
//
// The pipeline is one flat list in mlir_to_object.cc (`codegen_pipeline`); each stage can dump
// the IR after it runs (CompileOptions::print_ir_after).
//
// This header includes nothing from MLIR or LLVM: a kernel generator builds the module with its
// own MLIR includes and passes it in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "codegen/target.h"

namespace mlir {
class MLIRContext;
class ModuleOp;
}  // namespace mlir

namespace eave::codegen {

using Bytes = std::vector<uint8_t>;

// A context with every dialect, interface and translation the codegen pipeline needs loaded.
// Multithreading is off unless asked for (compile parallelism belongs to the caller).
std::unique_ptr<mlir::MLIRContext> make_codegen_context(bool multithreaded = false);

// How one operand of a kernel body reaches it through the ABI: the pointer is
// `buffers[buffer]`; the memref has the body's element type and an identity (row-major) layout;
// each dynamic dimension d takes its size from `syms[dim_syms[d]]` (entries for static
// dimensions are ignored and may be -1).
struct KernelOperand {
  int buffer = 0;
  std::vector<int> dim_syms;
};

// One exported kernel: `symbol` gets the ABI
//   void symbol(void* const* buffers, const int64_t* syms, int64_t tile_begin, int64_t tile_end)
// and calls func.func `body`, whose arguments are (after bufferization) the memrefs described by
// `operands`, in order, followed by `index` tile_begin and tile_end when `takes_tile_range`.
// A body on tensors must be in destination-passing style (results equivalent to arguments).
struct KernelBinding {
  std::string body;
  std::string symbol;
  std::vector<KernelOperand> operands;
  bool takes_tile_range = true;
};

struct CompileOptions {
  // Stage names from codegen_pipeline ("bufferize", "schedule", "approximate-math", "to-llvm",
  // "llvm-ir", "llvm-opt"), or "all": the IR after each named stage goes to stderr.
  std::vector<std::string> print_ir_after;
  // Where printed IR goes (stderr when empty): the stage or pass name, then the IR.
  std::function<void(const std::string& step, const std::string& ir)> print;
  // Rewrite math ops with MLIR's polynomial approximations where they keep f32 accuracy, so the
  // code does not import them from libm.
  bool approximate_math = true;
};

// The stage names CompileOptions::print_ir_after accepts, in pipeline order.
const std::vector<std::string>& codegen_stage_names();
// Whether print_ir_after can name `step`: a stage, or an MLIR pass of the pipeline by its
// argument ("convert-scf-to-cf").
bool is_codegen_print_step(const std::string& step);

// Compiles `module` (consumed: it is lowered in place) and returns ELF object bytes with one
// hidden global function per binding. Throws Error with MLIR's diagnostics on failure.
Bytes compile_to_object(mlir::ModuleOp module, const std::vector<KernelBinding>& kernels,
                        const TargetSpec& target, const CompileOptions& options = {});

// Parses `source` (MLIR textual form) in a fresh codegen context and compiles it as above. For
// tests, tools and hand-written kernels; throws Error with the parser's diagnostics.
Bytes compile_source_to_object(const std::string& source, const std::vector<KernelBinding>& kernels,
                               const TargetSpec& target, const CompileOptions& options = {});

// An object defining the exported `eave_kernels` table (or `table_symbol`) over the given kernel
// symbols (defined in other objects of the same link), in this order.
Bytes emit_kernel_table_object(const std::vector<std::string>& symbols, const TargetSpec& target,
                               const std::string& table_symbol = "eave_kernels");

// For firmware (`eave compile --emit static-lib`): an object defining
// `const eave_static_model <symbol>` over the artifact bytes (64-byte aligned, without CODE)
// and the kernel table `table_symbol` defined by another object of the link.
Bytes emit_static_model_object(const std::string& symbol, const std::vector<uint8_t>& artifact,
                               const std::string& table_symbol, const TargetSpec& target);

// Links objects into one relocatable object (ld.lld -r): model.o.
Bytes link_relocatable(const std::vector<Bytes>& objects, const TargetSpec& target);

// The symbols generated code may import: what the runtime's import table provides.
const std::vector<std::string>& default_allowed_imports();

// Links objects into a shared object with /usr/lib/llvm-22/bin/ld.lld (-shared -Bsymbolic
// --hash-style=sysv --gc-sections) and returns its bytes. Any undefined symbol outside
// `allowed_imports` is an Error naming it (lld's --no-undefined with an exception list).
Bytes link_shared_object(const std::vector<Bytes>& objects, const TargetSpec& target,
                         const std::vector<std::string>& allowed_imports = default_allowed_imports());

}  // namespace eave::codegen
