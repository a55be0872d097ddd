// Floating-point operation counts per node, for `eave profile`'s achieved GFLOP/s. The counts
// are the conventional ones (a multiply-add is 2, an elementwise op 1 per output element,
// transcendental functions included); they measure work, not the instructions a kernel runs.
// The compiler records them per step in the artifact (ArtifactWriter::set_step_info).
#pragma once

#include <optional>

#include "ir/dim.h"
#include "ir/graph.h"

namespace eave {

// The operations `n` performs, as a dim expression over the graph's symbols: 0 for pure data
// movement (Reshape, Transpose, Gather, Concat, ...), nullopt when the op or a shape it needs is
// unknown.
std::optional<Dim> node_flops(const Node& n);

}  // namespace eave
