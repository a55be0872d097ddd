// Shape inference for ops eave has no rule for, through ONNX's own per-op inference functions
// (from libonnx's schema registry, opsets up to 17). Symbolic dims travel as dim_param strings.
#pragma once

#include "ir/graph.h"

namespace eave {

// Infers `n`'s output types with ONNX's schema; false if the op has no schema or the schema's
// inference could not run. An ONNX inference error is an Error naming the node.
bool onnx_infer_node(Node& n);

}  // namespace eave
