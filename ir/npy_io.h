// .npy files to and from tensors (the format parser itself is runtime/src/npy.c, shared with the
// C runner). bf16 tensors are written as float32, since NumPy has no bfloat16.
#pragma once

#include <string>
#include <string_view>

#include "ir/tensor.h"

namespace eave {

Tensor read_npy(const std::string& path);
Tensor npy_from_bytes(std::string_view bytes, const std::string& what);
void write_npy(const std::string& path, const Tensor& t);
std::string npy_to_bytes(const Tensor& t);

}  // namespace eave
