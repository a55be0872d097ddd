// `eave bench MODEL.eave`: latency of a compiled model on seeded random inputs.
#include <chrono>
#include <cstdio>

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
  TimingFlags t;
  bool json = false;
  ArgParser p("bench",
              "Times a compiled model on seeded random inputs (or given .npy inputs) and prints\n"
              "median, p90 and min latency, peak RSS and the planned arena size.");
  p.positional("MODEL.eave", &path, "the artifact");
  add_timing_flags(p, t);
  p.flag("--json", &json, "print JSON: median_ms, p90_ms, min_ms, peak_rss_mb, arena_bytes");
  p.example("eave bench resnet18.eave --threads 2 --runs 100");
  p.example("eave bench gpt.eave --dim batch=1 --dim seq=128 --json");
  if (!p.parse(argc, argv, 2)) return 0;

  check_timing_flags(t);
  auto model = RuntimeModel::load_file(path);
  auto named = timing_inputs(*model, t);
  int64_t threads = t.threads, runs = t.runs, warmup = t.warmup;
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
