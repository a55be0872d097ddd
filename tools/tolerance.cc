#include "tools/tolerance.h"

#include <cmath>

#include "support/error.h"

namespace eave {

Tolerance reordered_float_tolerance(DType t) {
  switch (t) {
    case DType::F64: return {1e-12, 1e-12};
    case DType::F32: return {2e-5, 2e-5};
    case DType::F16: return {2e-3, 2e-3};    // 1 ulp is 2^-11 relative
    case DType::BF16: return {1.6e-2, 1.6e-2};  // 1 ulp is 2^-8 relative
    default: return {0, 0};
  }
}

std::string compare_tensors(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype() != want.dtype())
    return str_cat("element type ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.dims() != want.dims())
    return str_cat("shape ", dims_str(got.dims()), ", expected ", dims_str(want.dims()));
  int64_t n = got.numel();
  int64_t bad = 0;
  int64_t first = -1;
  double worst = 0;
  if (got.dtype() == DType::String) {
    for (int64_t i = 0; i < n; ++i)
      if (got.strings()[size_t(i)] != want.strings()[size_t(i)] && bad++ == 0) first = i;
    if (!bad) return "";
    return str_cat(bad, " of ", n, " strings differ; first at ", first, ": '",
                   got.strings()[size_t(first)], "' vs '", want.strings()[size_t(first)], "'");
  }
  bool fp = is_float(got.dtype());
  for (int64_t i = 0; i < n; ++i) {
    if (fp) {
      double g = got.as_double(i), w = want.as_double(i);
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) || std::isinf(g)) {
        if (g == w) continue;
      } else {
        double err = std::abs(g - w);
        if (err <= tol.atol + tol.rtol * std::abs(w)) continue;
        worst = std::max(worst, err);
      }
    } else {
      if (got.as_int(i) == want.as_int(i)) continue;
    }
    if (bad++ == 0) first = i;
  }
  if (!bad) return "";
  if (fp)
    return str_cat(bad, " of ", n, " values differ (max abs error ", worst, "); first at ", first,
                   ": ", got.as_double(first), " vs ", want.as_double(first));
  return str_cat(bad, " of ", n, " values differ; first at ", first, ": ", got.as_int(first),
                 " vs ", want.as_int(first));
}

std::string compare_values(const ValueData& got, const ValueData& want, const Tolerance& tol) {
  if (got.kind != want.kind) {
    auto kind = [](const ValueData& v) {
      return v.is_tensor() ? "a tensor" : v.is_sequence() ? "a sequence" : "an empty optional";
    };
    return str_cat("got ", kind(got), ", expected ", kind(want));
  }
  if (got.is_tensor()) return compare_tensors(got.tensor, want.tensor, tol);
  if (got.is_sequence()) {
    if (got.sequence.size() != want.sequence.size())
      return str_cat("sequence of ", got.sequence.size(), ", expected ", want.sequence.size());
    for (size_t i = 0; i < got.sequence.size(); ++i) {
      std::string m = compare_tensors(got.sequence[i], want.sequence[i], tol);
      if (!m.empty()) return str_cat("sequence element ", i, ": ", m);
    }
  }
  return "";
}

Agreement agreement(const Tensor& got, const Tensor& want) {
  EAVE_CHECK(got.dims() == want.dims(), "shapes differ: ", dims_str(got.dims()), " vs ",
             dims_str(want.dims()));
  Agreement a;
  if (got.dtype() == DType::String || want.dtype() == DType::String) {  // text agrees or not
    bool same = got.dtype() == want.dtype() && got.strings() == want.strings();
    a.max_abs = a.max_rel = same ? 0 : INFINITY;
    a.cosine = same ? 1 : 0;
    return a;
  }
  int64_t n = got.numel();
  double peak = 0;
  for (int64_t i = 0; i < n; ++i) peak = std::max(peak, std::abs(want.as_double(i)));
  double floor = std::max(peak * 1e-6, 1e-30);
  a.peak = peak;
  double dot = 0, gg = 0, ww = 0, noise = 0;
  for (int64_t i = 0; i < n; ++i) {
    double g = got.as_double(i), w = want.as_double(i);
    double err = std::abs(g - w);
    if (std::isnan(g) != std::isnan(w)) err = INFINITY;
    if (std::isnan(g) && std::isnan(w)) err = 0;
    a.max_abs = std::max(a.max_abs, err);
    a.max_rel = std::max(a.max_rel, err / std::max(std::abs(w), floor));
    if (!std::isnan(g) && !std::isnan(w)) {
      dot += g * w;
      gg += g * g;
      ww += w * w;
    }
    noise += err * err;
  }
  if (noise > 0) a.snr_db = ww > 0 ? 10 * std::log10(ww / noise) : -INFINITY;
  a.cosine = (gg == 0 && ww == 0) ? 1.0 : dot / std::sqrt(std::max(gg * ww, 1e-300));
  return a;
}

bool within_compare_tolerance(const Agreement& a, bool integer) {
  if (integer) return a.max_abs == 0;
  return a.max_abs <= kCompareTolerance.atol + kCompareTolerance.rtol * a.peak;
}

}  // namespace eave
