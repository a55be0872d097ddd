#include "tools/summary.h"

#include <cstdio>

namespace eave {

std::string summarize_tensor(const Tensor& t, int64_t max_values) {
  std::string s = std::string(dtype_name(t.dtype())) + dims_str(t.dims());
  int64_t n = t.numel();
  if (t.dtype() == DType::String) {
    s += " [";
    for (int64_t i = 0; i < std::min(n, max_values); ++i)
      s += (i ? ", \"" : "\"") + t.strings()[size_t(i)] + "\"";
    return s + (n > max_values ? ", ...]" : "]");
  }
  if (n == 0) return s + " (empty)";
  char buf[64];
  s += " [";
  double lo = t.as_double(0), hi = lo, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = t.as_double(i);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
    if (i < max_values) {
      std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v);
      s += buf;
    }
  }
  s += n > max_values ? ", ...]" : "]";
  std::snprintf(buf, sizeof buf, " min %.6g max %.6g mean %.6g", lo, hi, sum / double(n));
  return s + buf;
}

}  // namespace eave
