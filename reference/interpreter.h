// The reference interpreter: runs a model node by node with the kernels of reference/, the
// executable definition of every op. Slow on purpose; every compiled path is tested against it.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "ir/value_data.h"

namespace eave::ref {

struct InterpreterOptions {
  // Called after each node of the main graph runs, with its outputs (for layer-by-layer compare
  // and debugging). Not called for nodes inside subgraphs.
  std::function<void(const Node&, std::span<const ValueData>)> on_node;
};

using NamedValues = std::vector<std::pair<std::string, ValueData>>;

// Checks `inputs` against the graph's declared inputs (names, dtypes, ranks, dims; symbolic dims
// must bind consistently) and runs the model. Returns the graph outputs in order. Errors name
// the input, node or op at fault.
std::vector<ValueData> run_model(const Model& m, const NamedValues& inputs,
                                 const InterpreterOptions& opts = {});

// Runs one node (without subgraphs) on the given inputs (nullptr for absent ones); returns its
// outputs. Used by constant folding. An Error if the node has no reference kernel.
std::vector<ValueData> run_node(const Node& n, const std::vector<const ValueData*>& inputs);
// True if the reference interpreter has a kernel for `kind`.
bool has_kernel(OpKind kind);

// Validates inputs the way run_model does, and returns them in graph-input order.
std::vector<ValueData> bind_inputs(const Graph& g, const NamedValues& inputs);

}  // namespace eave::ref
