// Serializes a node's attributes into the blob runtime builtins read by name
// (runtime/src/builtins/attrs.h describes the layout). Graph attributes are left out: control
// flow runs as nested programs, not builtins.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/graph.h"

namespace eave {

std::vector<uint8_t> encode_builtin_attrs(const Node& n);

}  // namespace eave
