// Transform-dialect schedules of generated kernels. A kernel builder that states part of its
// loop nest as a structured op (linalg) tags the op with `eave.schedule = "<schedule>"` and
// adds that schedule to the module once, as a transform sequence `@<schedule>` over the whole
// module: how such ops are tiled, peeled and vectorized for the target
// (`elementwise_r2_v16_peeled`, `register_tile_u2`). Every op with the same schedule is
// transformed by the same ops in one go. Codegen's "schedule" stage
// (codegen/mlir_to_object.cc) runs every schedule of the module and then removes them;
// `eave compile --print-ir-after=bufferize` prints payload and schedules.
#pragma once

#include <initializer_list>
#include <string>

#include "mlir/IR/BuiltinOps.h"

namespace eave::codegen {

// The attribute that names a structured op's schedule.
constexpr const char* kScheduleAttr = "eave.schedule";

// Whether `module` has the schedule `name`.
bool has_schedule(mlir::ModuleOp module, const std::string& name);

// Adds the schedule `name` to `module`: `ops` are transform ops over `%root` (the module,
// read-only), ending before the sequence's yield. An internal error, with the parser's
// message, if they do not parse.
void add_schedule(mlir::ModuleOp module, const std::string& name, const std::string& ops);

// Text for schedules: `<handle> = transform.structured.match` of the `op` ops tagged with
// `schedule`, then `<handle>_func`, the functions holding them (each once).
std::string match_scheduled_ops(const std::string& handle, const std::string& op,
                                const std::string& schedule);
// `transform.apply_patterns to <target>` with the pattern sets `sets` (the names after
// `transform.apply_patterns.`, with their options) in one greedy rewrite.
std::string apply_patterns(const std::string& target, std::initializer_list<std::string> sets);

// `%hoisted` from the vectorized functions `func`: memref aliases folded, canonicalized, CSE'd,
// and the transfers a loop repeats unchanged hoisted out of it (a tile or accumulator it then
// carries in registers).
std::string fold_and_hoist(const std::string& func);
// The same after vectorizing every structured op of `func`
// (vectorize_children_and_apply_patterns).
std::string vectorize_and_hoist(const std::string& func);
// Unrolls the scf.for loops annotated `marker` (transform.annotate) `factor` times.
std::string unroll_marked_loops(const std::string& marker, int64_t factor);

// Gives the module's schedules one entry point for the transform interpreter,
// `__transform_main`, that applies them in the order they were added (a module that has one
// already, written by hand, keeps it). False if the module has no schedule.
bool make_schedule_entry(mlir::ModuleOp module);

}  // namespace eave::codegen
