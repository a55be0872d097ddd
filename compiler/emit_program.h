// Program emission: turns a partitioned graph into the runtime program of an artifact
// (codegen/artifact_writer.h): symbols for dynamic dims, values with their storage (inputs,
// outputs, weights, arena, heap, aliases), and one step per dispatch.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "codegen/artifact_writer.h"
#include "compiler/kernel_generator.h"
#include "compiler/partition.h"
#include "ir/graph.h"

namespace eave {

struct DimBounds {
  int64_t min = 0;
  int64_t max = -1;      // -1: unbounded
  int64_t nominal = 1;   // the size the arena is planned for
};

struct EmitOptions {
  // Bounds of named input dims (--dim-bound batch=16); unknown symbols get the defaults.
  std::map<std::string, DimBounds> bounds;
  // Record each step's model nodes and FLOPs (the artifact's STEP_INFO, for `eave profile`).
  bool step_info = false;
  // Make every dispatch's outputs extra program outputs (CompileOptions::Expose::Dispatches).
  bool expose_dispatch_outputs = false;
  // Called after each dispatch is emitted, with the number emitted so far.
  std::function<void(size_t)> on_dispatch;
  // The names of the model's outputs, in order, as the model declared them: a graph pass that
  // replaces an output's value (BatchNorm folded into its producer, an Identity removed, a
  // pattern recognized) must not rename the output. Empty: the values' own names.
  std::vector<std::string> output_names;
};

// Emits `g` (the main graph, already partitioned into `dispatches`) into `w`. Kernels come from
// `gen` (nullptr: every dispatch that needs code runs as a builtin instead); the caller
// finishes the generator and sets the artifact's code.
void emit_program(const Graph& g, const std::vector<Dispatch>& dispatches, KernelGenerator* gen,
                  const EmitOptions& opts, artifact::ArtifactWriter& w);

// The runtime builtin that runs `kind`, if there is one.
std::optional<artifact::Builtin> builtin_for(OpKind kind);

// Whether a node reads or writes string tensors (or sequences or optionals of them): such nodes
// run as runtime builtins, never as generated kernels.
bool has_string_operand(const Node& n);

// eave_dtype code of a DType (the same numbering; checked by a test).
eave_dtype to_eave_dtype(DType t);

// The runtime's kind for a value of type `t`: a tensor, or a sequence or optional of tensors;
// nullopt for anything else (unknown types, sequences of sequences, maps).
std::optional<eave_value_kind> value_kind(const Type& t);

}  // namespace eave
