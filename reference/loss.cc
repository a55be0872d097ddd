// Reference kernels: loss functions. NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
// (ONNX functions, but exported as single nodes by PyTorch). Losses compute in double and are
// stored in the input's float type.
#include <cmath>

#include "reference/util.h"

namespace eave::ref {

namespace {

enum class Reduction { None, Sum, Mean };

Reduction reduction_of(const KernelContext& ctx) {
  std::string r = ctx.node().attr_string("reduction", "mean");
  if (r == "none") return Reduction::None;
  if (r == "sum") return Reduction::Sum;
  ctx.check(r == "mean", "reduction must be none, sum or mean, got '", r, "'");
  return Reduction::Mean;
}

// NLL over log-probabilities lp [N, C, d...] (as doubles) with targets [N, d...].
Tensor nll(const KernelContext& ctx, const std::vector<double>& lp, const std::vector<int64_t>& dims,
           const Tensor& target, const Tensor* weight, DType out_dtype) {
  ctx.check(dims.size() >= 2, "input must have rank >= 2, got ", dims.size());
  int64_t n = dims[0], c = dims[1];
  int64_t inner = 1;
  for (size_t i = 2; i < dims.size(); ++i) inner *= dims[i];
  std::vector<int64_t> tdims = {n};
  tdims.insert(tdims.end(), dims.begin() + 2, dims.end());
  ctx.check(target.dims() == tdims, "target shape ", dims_str(target.dims()), " must be ",
            dims_str(tdims));
  ctx.check(is_integer(target.dtype()), "target must be an integer tensor");
  if (weight) ctx.check(weight->rank() == 1 && weight->dim(0) == c, "weight must be [", c, "]");
  bool has_ignore = ctx.node().has_attr("ignore_index");
  int64_t ignore = ctx.node().attr_int("ignore_index", 0);
  Reduction red = reduction_of(ctx);
  std::vector<double> loss(size_t(n * inner));
  double total = 0, total_w = 0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t t = target.as_int(b * inner + i);
      double l = 0, w = 0;
      if (!(has_ignore && t == ignore)) {
        ctx.check(t >= 0 && t < c, "target ", t, " is out of range for ", c, " classes");
        w = weight ? weight->as_double(t) : 1.0;
        l = -lp[size_t((b * c + t) * inner + i)] * w;
      }
      loss[size_t(b * inner + i)] = l;
      total += l;
      total_w += w;
    }
  }
  if (red == Reduction::None) return Tensor::from_vector<double>(tdims, loss).cast(out_dtype);
  double v = red == Reduction::Sum ? total : (total_w == 0 ? 0.0 : total / total_w);
  return Tensor::scalar<double>(v).cast(out_dtype);
}

void nll_loss_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  visit_float(ctx, x.dtype(), [](auto) { return 0; });
  Tensor xd = x.cast(DType::F64);
  std::vector<double> lp(xd.span<double>().begin(), xd.span<double>().end());
  ctx.set_output(0, nll(ctx, lp, x.dims(), ctx.input(1), ctx.optional_input(2), x.dtype()));
}

void softmax_cross_entropy_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  visit_float(ctx, x.dtype(), [](auto) { return 0; });
  ctx.check(x.rank() >= 2, "scores must have rank >= 2, got ", x.rank());
  Tensor xd = x.cast(DType::F64);
  const double* s = xd.data<double>();
  int64_t n = x.dim(0), c = x.dim(1), inner = x.numel() / std::max<int64_t>(1, n * c);
  std::vector<double> lp(size_t(x.numel()));
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < inner; ++i) {
      double m = -INFINITY;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, s[(b * c + k) * inner + i]);
      double sum = 0;
      for (int64_t k = 0; k < c; ++k) sum += std::exp(s[(b * c + k) * inner + i] - m);
      double lse = m + std::log(sum);
      for (int64_t k = 0; k < c; ++k)
        lp[size_t((b * c + k) * inner + i)] = s[(b * c + k) * inner + i] - lse;
    }
  }
  ctx.set_output(0, nll(ctx, lp, x.dims(), ctx.input(1), ctx.optional_input(2), x.dtype()));
  if (ctx.wants_output(1)) ctx.set_output(1, Tensor::from_vector<double>(x.dims(), lp).cast(x.dtype()));
}

}  // namespace

void register_loss_kernels(KernelRegistry& r) {
  r.add(OpKind::NegativeLogLikelihoodLoss, nll_loss_k);
  r.add(OpKind::SoftmaxCrossEntropyLoss, softmax_cross_entropy_k);
}

}  // namespace eave::ref
