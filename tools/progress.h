// Progress of long work (a compile, the conformance suite) for a person at a terminal: one
// status line on stderr, redrawn in place at most ten times a second and erased when done.
// When stderr is not a terminal it prints nothing, so piped and logged output stays quiet and
// line-oriented (the commands' results are on stdout either way).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace eave {

class Progress {
 public:
  // `enabled` defaults to whether stderr is a terminal.
  Progress();
  explicit Progress(bool enabled);
  ~Progress();  // erases the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  bool enabled() const { return enabled_; }
  // "[done/total] stage: detail" (total 0: no count). Throttled, except the final done == total.
  void update(const std::string& stage, size_t done, size_t total, const std::string& detail = "");
  // Erases the status line (before printing something else to stderr or stdout).
  void clear();

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace eave
