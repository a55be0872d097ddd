// Seeded random inputs for a compiled model's signature (`eave bench`, `eave compare`,
// `eave profile` without --input).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ir/tensor.h"
#include "support/args.h"
#include "tools/runtime_session.h"

namespace eave {

// Floats uniform in [-1, 1), integers in [0, 8) (safe as indices and ids), bools at random.
// Dynamic dims take `dims[symbol]` (default 1).
std::vector<std::pair<std::string, Tensor>> random_inputs(
    const std::vector<RuntimeModel::IoInfo>& infos, const std::map<std::string, int64_t>& dims,
    uint32_t seed);

// Replaces inputs by name with `given` ones; an Error (the runtime's words) names one that is
// not an input.
void replace_inputs(std::vector<std::pair<std::string, Tensor>>& inputs,
                    const std::vector<std::pair<std::string, Tensor>>& given);
// The same with files given as repeated NAME=FILE.npy flags (--input).
void apply_input_files(std::vector<std::pair<std::string, Tensor>>& inputs,
                       const std::vector<std::string>& specs);

// Parses repeated NAME=N flags (--dim batch=8); an Error names a bad one.
std::map<std::string, int64_t> parse_dim_values(const std::vector<std::string>& specs);

// The options of the commands that time runs (bench, profile): --threads, --runs, --warmup,
// --dim and --input.
struct TimingFlags {
  int64_t threads = 1;
  int64_t runs = 50;
  int64_t warmup = 5;
  std::vector<std::string> dims;    // NAME=N
  std::vector<std::string> inputs;  // NAME=FILE.npy
};
void add_timing_flags(ArgParser& p, TimingFlags& f);
// Checks the flags (before any file is read); returns the --dim values.
std::map<std::string, int64_t> check_timing_flags(const TimingFlags& f);
// The inputs the flags describe for `model`: seeded random ones, then the --input files.
std::vector<std::pair<std::string, Tensor>> timing_inputs(const RuntimeModel& model,
                                                          const TimingFlags& f);

}  // namespace eave
