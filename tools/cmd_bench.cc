// `eave bench MODEL.eave`: latency of a compiled model on seeded random inputs.
#include <chrono>
#include <cstdio>
#include <map>

#include "runtime/src/model.h"
#include "support/args.h"
#include "support/error.h"
#include "tools/commands.h"
#include "tools/bench_stats.h"
#include "tools/random_inputs.h"
#include "tools/runtime_session.h"

namespace eave {

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

  std::map<std::string, int64_t> dims = parse_dim_values(dim_values);
  auto model = RuntimeModel::load_file(path);
  auto named = random_inputs(model->inputs(), dims, 42);
  apply_input_files(named, inputs);
  RuntimeSession session(model, int(threads));
  session.bind(named);
  for (int64_t i = 0; i < warmup; ++i) session.run_bound();
  std::vector<double> ms;
  for (int64_t i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    session.run_bound();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  BenchFigures f = bench_figures(ms, model->get()->programs[0].arena_size);
  if (json) {
    std::printf("{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"peak_rss_mb\": %.1f, "
                "\"arena_bytes\": %llu, \"threads\": %lld, \"runs\": %lld}\n",
                f.median_ms, f.p90_ms, f.min_ms, f.peak_rss_mb,
                (unsigned long long)f.arena_bytes, (long long)threads, (long long)runs);
  } else {
    std::printf("%s: %lld runs, %lld thread%s\n", path.c_str(), (long long)runs, (long long)threads,
                threads == 1 ? "" : "s");
    std::printf("  median %.3f ms   p90 %.3f ms   min %.3f ms\n", f.median_ms, f.p90_ms, f.min_ms);
    std::printf("  peak RSS %.1f MiB   arena %llu bytes\n", f.peak_rss_mb,
                (unsigned long long)f.arena_bytes);
  }
  return 0;
}

}  // namespace eave
