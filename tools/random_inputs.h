// Seeded random inputs for a compiled model's signature (`eave bench`, `eave compare`,
// `eave profile` without --input).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/tensor.h"
#include "tools/runtime_session.h"

namespace eave {

// Floats uniform in [-1, 1), integers in [0, 8) (safe as indices and ids), bools at random.
// Dynamic dims take `dims[symbol]` (default 1).
std::vector<std::pair<std::string, Tensor>> random_inputs(
    const std::vector<RuntimeModel::IoInfo>& infos, const std::map<std::string, int64_t>& dims,
    uint32_t seed);

// Replaces inputs with files given as repeated NAME=FILE.npy flags (--input); an Error names
// a NAME that is not an input.
void apply_input_files(std::vector<std::pair<std::string, Tensor>>& inputs,
                       const std::vector<std::string>& specs);

// Parses repeated NAME=N flags (--dim batch=8); an Error names a bad one.
std::map<std::string, int64_t> parse_dim_values(const std::vector<std::string>& specs);

}  // namespace eave
