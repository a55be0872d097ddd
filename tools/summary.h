// One-line summaries of tensors for the CLI: type, shape, the first values and min/max/mean.
#pragma once

#include <string>

#include "ir/tensor.h"

namespace eave {

// "f32[1,10] [0.0123, 0.4, ...] min 0.001 max 0.4 mean 0.1"
std::string summarize_tensor(const Tensor& t, int64_t max_values = 6);

}  // namespace eave
