#include "tools/random_inputs.h"

#include <cstdlib>
#include <random>

#include "ir/npy_io.h"
#include "support/args.h"
#include "support/error.h"

namespace eave {

std::vector<std::pair<std::string, Tensor>> random_inputs(
    const std::vector<RuntimeModel::IoInfo>& infos, const std::map<std::string, int64_t>& dims,
    uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& io : infos) {
    std::vector<int64_t> shape;
    for (size_t d = 0; d < io.dims.size(); ++d) {
      if (io.dims[d] >= 0) {
        shape.push_back(io.dims[d]);
        continue;
      }
      auto it = dims.find(io.symbols[d]);
      shape.push_back(it == dims.end() ? 1 : it->second);
    }
    Tensor t(DType::F64, shape);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::uniform_int_distribution<int> small(0, 7);
    for (double& x : t.mutable_span<double>())
      x = is_float(io.dtype) ? u(rng)
                             : double(io.dtype == DType::Bool ? small(rng) & 1 : small(rng));
    out.emplace_back(io.name, t.cast(io.dtype));
  }
  return out;
}

void replace_inputs(std::vector<std::pair<std::string, Tensor>>& inputs,
                    const std::vector<std::pair<std::string, Tensor>>& given) {
  for (const auto& [name, t] : given) {
    bool found = false;
    std::string names;
    for (auto& [n, slot] : inputs) {
      names += (names.empty() ? "'" : ", '") + n + "'";
      if (n == name) slot = t, found = true;
    }
    EAVE_CHECK(found, "the model has no input '", name, "' (its inputs: ", names, ")");
  }
}

void apply_input_files(std::vector<std::pair<std::string, Tensor>>& inputs,
                       const std::vector<std::string>& specs) {
  std::vector<std::pair<std::string, Tensor>> given;
  for (const auto& s : specs) {
    auto [name, file] = split_assignment(s, "--input");
    given.emplace_back(name, read_npy(file));
  }
  replace_inputs(inputs, given);
}

std::map<std::string, int64_t> parse_dim_values(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> dims;
  for (const auto& s : specs) {
    auto [name, v] = split_assignment(s, "--dim");
    char* end = nullptr;
    long long n = std::strtoll(v.c_str(), &end, 10);
    EAVE_CHECK(!v.empty() && end && *end == 0 && n >= 0, "--dim ", name,
               ": expected a size (a non-negative integer), got '", v, "'");
    dims[name] = n;
  }
  return dims;
}

void add_timing_flags(ArgParser& p, TimingFlags& f) {
  p.option("--threads", &f.threads, "threads that run kernel tiles (default 1; 0: all CPUs)");
  p.option("--runs", &f.runs, "timed runs (default " + std::to_string(f.runs) + ")");
  p.option("--warmup", &f.warmup, "untimed runs first (default " + std::to_string(f.warmup) + ")");
  p.repeated("--dim", &f.dims, "a value for a dynamic dim: batch=8 (default 1)", "NAME=N");
  p.repeated("--input", &f.inputs, "use an input from a file instead: NAME=FILE.npy", "NAME=FILE");
}

std::map<std::string, int64_t> check_timing_flags(const TimingFlags& f) {
  EAVE_CHECK(f.runs > 0, "--runs must be positive");
  EAVE_CHECK(f.warmup >= 0, "--warmup must not be negative");
  return parse_dim_values(f.dims);
}

std::vector<std::pair<std::string, Tensor>> timing_inputs(const RuntimeModel& model,
                                                          const TimingFlags& f) {
  auto named = random_inputs(model.inputs(), check_timing_flags(f), 42);
  apply_input_files(named, f.inputs);
  return named;
}

}  // namespace eave
