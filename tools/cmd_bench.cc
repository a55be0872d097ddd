// `eave bench MODEL.eave`: latency of a compiled model on seeded random inputs.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "ir/npy_io.h"
#include "runtime/src/model.h"
#include "support/args.h"
#include "support/error.h"
#include "tools/commands.h"
#include "tools/runtime_session.h"

namespace eave {

// Seeded random inputs for a model's signature: floats in [-1, 1), integers in [0, 8) (safe as
// indices and ids), bools at random. Dynamic dims take `dims[symbol]` (default 1).
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
      x = is_float(io.dtype) ? u(rng) : double(io.dtype == DType::Bool ? small(rng) & 1 : small(rng));
    out.emplace_back(io.name, t.cast(io.dtype));
  }
  return out;
}

int cmd_bench(int argc, char** argv) {
  std::string path;
  int64_t threads = 1, runs = 50, warmup = 5;
  bool json = false;
  std::vector<std::string> dim_values, inputs;
  ArgParser p("bench",
              "Times a compiled model on seeded random inputs (or given .npy inputs) and prints\n"
              "median, p90 and min latency, peak RSS and the planned arena size.");
  p.positional("MODEL.eave", &path, "the artifact");
  p.option("--threads", &threads, "threads that run kernel tiles (default 1; 0: all CPUs)");
  p.option("--runs", &runs, "timed runs (default 50)");
  p.option("--warmup", &warmup, "untimed runs first (default 5)");
  p.repeated("--dim", &dim_values, "a value for a dynamic dim: batch=8 (default 1)", "NAME=N");
  p.repeated("--input", &inputs, "use an input from a file instead: NAME=FILE.npy", "NAME=FILE");
  p.flag("--json", &json, "print JSON: median_ms, p90_ms, min_ms, peak_rss_mb, arena_bytes");
  p.example("eave bench resnet18.eave --threads 2 --runs 100");
  p.example("eave bench gpt.eave --dim batch=1 --dim seq=128 --json");
  if (!p.parse(argc, argv, 2)) return 0;
  EAVE_CHECK(runs > 0, "--runs must be positive");

  std::map<std::string, int64_t> dims;
  for (const auto& s : dim_values) {
    auto [name, v] = split_assignment(s, "--dim");
    dims[name] = std::stoll(v);
  }
  auto model = RuntimeModel::load_file(path);
  auto named = random_inputs(model->inputs(), dims, 42);
  for (const auto& s : inputs) {
    auto [name, file] = split_assignment(s, "--input");
    for (auto& [n, t] : named)
      if (n == name) t = read_npy(file);
  }
  RuntimeSession session(model, int(threads));
  session.bind(named);
  for (int64_t i = 0; i < warmup; ++i) session.run_bound();
  std::vector<double> ms;
  for (int64_t i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    session.run_bound();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  double p90 = ms[std::min(ms.size() - 1, size_t(double(ms.size()) * 0.9))];
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double rss_mb = double(ru.ru_maxrss) / 1024.0;
  uint64_t arena = model->get()->programs[0].arena_size;
  if (json) {
    std::printf("{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"peak_rss_mb\": %.1f, "
                "\"arena_bytes\": %llu, \"threads\": %lld, \"runs\": %lld}\n",
                median, p90, ms.front(), rss_mb, (unsigned long long)arena, (long long)threads,
                (long long)runs);
  } else {
    std::printf("%s: %lld runs, %lld thread%s\n", path.c_str(), (long long)runs, (long long)threads,
                threads == 1 ? "" : "s");
    std::printf("  median %.3f ms   p90 %.3f ms   min %.3f ms\n", median, p90, ms.front());
    std::printf("  peak RSS %.1f MiB   arena %llu bytes\n", rss_mb, (unsigned long long)arena);
  }
  return 0;
}

}  // namespace eave
