// The compile pipeline, in one place: what runs, in which order. `eave compile
// --print-ir-after=NAME` (or =all) prints the IR after any named step.
#pragma once

#include <functional>
#include <set>
#include <string>

#include "ir/graph.h"

namespace eave {

struct PipelineOptions {
  // Step names after which to print the IR ("all" for every step).
  std::set<std::string> print_ir_after;
  // Where printed IR goes (stdout by default).
  std::function<void(const std::string& step, const std::string& ir)> print;
  // Verify the IR after every step (on in tests and debug builds).
  bool verify_each = true;
};

// The graph-level steps, in order: shape inference, cleanup, fusion-enabling rewrites.
void optimize_graph(Model& m, const PipelineOptions& opts);

// Names of every step optimize_graph runs, in order (for --help and tests).
const std::vector<std::string>& graph_pass_names();

}  // namespace eave
