// The optional STEP_INFO section of an artifact (runtime/src/artifact_format.h): which model
// nodes each step runs and how many floating-point operations that is. The runtime skips the
// section; `eave profile` reads it here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "eave/runtime.h"

namespace eave {

struct StepInfo {
  std::vector<std::pair<std::string, std::string>> nodes;  // (name, op type)
  std::vector<uint8_t> flops_code;                         // empty: unknown
};

using StepKey = std::pair<uint32_t, uint32_t>;  // (program, step)

// The section's entries by step; empty when the artifact has none. An Error when the section
// is malformed (the runtime has already validated the rest of the file).
std::map<StepKey, StepInfo> read_step_info(std::span<const uint8_t> artifact);

// The step's FLOPs with the symbol values of `session`'s last run; nullopt when unknown.
std::optional<double> step_flops(const StepInfo& info, const eave_session* session);

}  // namespace eave
