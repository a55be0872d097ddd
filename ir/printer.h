// A readable text form of the IR, used by tests and by `--print-ir-after`:
//
//   graph main(%x: f32[batch,3,224,224]) -> (%y: f32[batch,1000]) {
//     %w = const f32[64,3,7,7]
//     %c: f32[batch,64,112,112] = Conv(%x, %w) {kernel_shape = [7,7], strides = [2,2]}  # conv1
//     return %y
//   }
#pragma once

#include <string>

#include "ir/graph.h"

namespace eave {

struct PrintOptions {
  // Print small constants' values (up to this many elements); larger ones show only their type.
  int64_t max_constant_elements = 8;
};

std::string print_graph(const Graph& g, const PrintOptions& opts = {});
std::string print_model(const Model& m, const PrintOptions& opts = {});

}  // namespace eave
