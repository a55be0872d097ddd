// Program emission: turns a partitioned graph into the runtime program of an artifact
// (codegen/artifact_writer.h): symbols for dynamic dims, values with their storage (inputs,
// outputs, weights, arena, heap, aliases), and one step per dispatch.
#pragma once

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
  // The model's output names, in order (graph passes may rename the values behind them).
  std::vector<std::string> output_names;
};

// Emits `g` (the main graph, already partitioned into `dispatches`) into `w`. Kernels come from
// `gen` (nullptr: every dispatch that needs code runs as a builtin instead); the caller
// finishes the generator and sets the artifact's code.
void emit_program(const Graph& g, const std::vector<Dispatch>& dispatches, KernelGenerator* gen,
                  const EmitOptions& opts, artifact::ArtifactWriter& w);

// The runtime builtin that runs `kind`, if there is one.
std::optional<artifact::Builtin> builtin_for(OpKind kind);

// eave_dtype code of a DType (the same numbering; checked by a test).
eave_dtype to_eave_dtype(DType t);

}  // namespace eave
