#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace eave {

Progress::Progress() : Progress(isatty(STDERR_FILENO) != 0) {}

Progress::Progress(bool enabled) : enabled_(enabled) {}

Progress::~Progress() { clear(); }

void Progress::update(const std::string& stage, size_t done, size_t total,
                      const std::string& detail) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  bool last = total && done == total;
  if (shown_ && !last && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::string line = total ? "[" + std::to_string(done) + "/" + std::to_string(total) + "] " : "";
  line += stage;
  if (!detail.empty()) line += ": " + detail;
  if (line.size() > 78) line = line.substr(0, 75) + "...";
  // \r and erase-to-end-of-line: the line is redrawn in place.
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void Progress::clear() {
  if (!enabled_ || !shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace eave
