// How outputs are compared to expected values: the one place where tolerances are set.
// Floats match when |got - want| <= atol + rtol * |want| (NaN matches NaN, infinities must be
// equal); integers, bools and strings must match exactly; shapes and element types always do.
// Whole real models against ONNX Runtime are judged by tests/real_models/compare.py instead.
#pragma once

#include <cmath>
#include <string>

#include "ir/value_data.h"

namespace eave {

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

// ONNX's own backend-test tolerances, used by `eave conformance`.
inline constexpr Tolerance kConformanceTolerance{1e-3, 1e-7};

// Generated f32 dot products (matmul, conv) against a double-precision reference. The error of
// an f32 sum scales with the magnitudes of its terms, not with the result, so these compare
// |got - want| <= atol + rtol * sum_k |a_k * b_k|.
inline constexpr Tolerance kF32DotTolerance{1e-5, 1e-6};

// MLIR's polynomial approximations of f32 math functions (codegen's approximate-math stage)
// against libm in double: about 5 ulp, with results in the subnormal range allowed to flush.
inline constexpr Tolerance kF32ApproximateMathTolerance{3e-7, 1.2e-38};

// Generated reductions and normalizations (sums, softmax, layer norm) against the reference
// interpreter, per element type: the same arithmetic in another order (vector lanes, several
// accumulators, one-pass statistics) plus 1-4 ulp f32 exp/log approximations, so a few ulp of
// the result type, with an absolute floor for results that cancel to about zero. Integers and
// bools are exact.
Tolerance reordered_float_tolerance(DType t);

// Empty when `got` matches `want`; otherwise one line saying where and by how much they differ.
std::string compare_tensors(const Tensor& got, const Tensor& want, const Tolerance& tol);
std::string compare_values(const ValueData& got, const ValueData& want, const Tolerance& tol);

// Summary statistics of how close `got` is to `want` (same shape): the largest absolute error,
// the largest error relative to max(|want|, 1e-6 * max|want|), the cosine similarity, the
// signal-to-noise ratio 10 log10(sum want^2 / sum (got - want)^2) in dB (infinite when equal),
// and the largest |want|.
struct Agreement {
  double max_abs = 0;
  double max_rel = 0;
  double cosine = 1;
  double snr_db = INFINITY;
  double peak = 0;
};
Agreement agreement(const Tensor& got, const Tensor& want);

// `eave compare`: one intermediate value of the compiled model against the reference. Errors
// grow along a model and relative error is meaningless near zero, so a value is judged against
// its own magnitude: max |got - want| <= atol + rtol * max |want|. Integer values must match.
inline constexpr Tolerance kCompareTolerance{1e-3, 1e-5};
bool within_compare_tolerance(const Agreement& a, bool integer);

}  // namespace eave
