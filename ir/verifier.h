// Structural checks on the IR: every input is defined before it is used (in this graph or an
// enclosing one), use lists match inputs, producers match outputs, graph outputs are defined.
// Passes run it in tests after every rewrite; a failure is an InternalError naming the node.
#pragma once

#include "ir/graph.h"

namespace eave {

void verify(const Graph& g);
void verify(const Model& m);

}  // namespace eave
