// The figures `eave bench` reports, defined once for the CLI and the Python API
// (eave.Model.benchmark): latency statistics over timed runs and the process's peak RSS.
// Header-only and free of compiler code, so the runtime-only Python extension includes it too.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace eave {

struct BenchFigures {
  double median_ms = 0;
  double p90_ms = 0;
  double min_ms = 0;
  double peak_rss_mb = 0;    // the whole process's peak resident set, in MiB
  uint64_t arena_bytes = 0;  // the compiler's planned activation arena of program 0
};

// `run_ms` holds one latency per timed run (at least one); sorted in place.
inline BenchFigures bench_figures(std::vector<double>& run_ms, uint64_t arena_bytes) {
  std::sort(run_ms.begin(), run_ms.end());
  BenchFigures f;
  f.median_ms = run_ms[run_ms.size() / 2];
  f.p90_ms = run_ms[std::min(run_ms.size() - 1, size_t(double(run_ms.size()) * 0.9))];
  f.min_ms = run_ms.front();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  f.peak_rss_mb = double(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
  f.arena_bytes = arena_bytes;
  return f;
}

}  // namespace eave
