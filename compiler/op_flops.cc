#include "compiler/op_flops.h"

namespace eave {

namespace {

std::optional<Dim> numel(const Value* v) {
  if (!v || !v->type().is_tensor() || !v->shape().has_rank()) return std::nullopt;
  return v->shape().numel();
}

// Product of dims [from, rank) of v.
std::optional<Dim> inner(const Value* v, size_t from) {
  if (!v || !v->type().is_tensor() || !v->shape().has_rank()) return std::nullopt;
  Dim p = 1;
  for (size_t i = from; i < v->shape().rank(); ++i) p *= v->shape()[i];
  return p;
}

std::optional<Dim> scaled(std::optional<Dim> d, int64_t k) {
  if (!d) return std::nullopt;
  return *d * k;
}

}  // namespace

std::optional<Dim> node_flops(const Node& n) {
  const Value* out = n.output(0);
  switch (n.kind()) {
    // Contractions: 2 per multiply-add.
    case OpKind::MatMul: {
      const Value* a = n.input(0);
      if (!a || !a->shape().has_rank() || a->shape().rank() == 0) return std::nullopt;
      auto o = numel(out);
      if (!o) return std::nullopt;
      return *o * a->shape()[a->shape().rank() - 1] * 2;
    }
    case OpKind::Gemm: {
      const Value* a = n.input(0);
      auto o = numel(out);
      if (!o || !a || !a->shape().has_rank() || a->shape().rank() != 2) return std::nullopt;
      Dim k = a->shape()[n.attr_int("transA", 0) ? 0 : 1];
      return *o * k * 2 + (n.input(2) ? *o : Dim(0));
    }
    case OpKind::Conv: {  // W: [Cout, Cin/group, k...]
      auto o = numel(out);
      auto per = inner(n.input(1), 1);
      if (!o || !per) return std::nullopt;
      return *o * *per * 2 + (n.input(2) ? *o : Dim(0));
    }
    case OpKind::ConvTranspose: {  // W: [Cin, Cout/group, k...], every input element scattered
      auto i = numel(n.input(0));
      auto per = inner(n.input(1), 1);
      if (!i || !per) return std::nullopt;
      return *i * *per * 2;
    }
    // Pooling: one operation per window element.
    case OpKind::MaxPool:
    case OpKind::AveragePool:
    case OpKind::LpPool: {
      auto o = numel(out);
      if (!o) return std::nullopt;
      Dim window = 1;
      for (int64_t k : n.attr_ints("kernel_shape", std::vector<int64_t>{})) window *= k;
      return *o * window;
    }
    // Reductions: one operation per input element.
    case OpKind::GlobalAveragePool:
    case OpKind::GlobalMaxPool:
    case OpKind::GlobalLpPool:
    case OpKind::ReduceL1:
    case OpKind::ReduceL2:
    case OpKind::ReduceLogSum:
    case OpKind::ReduceLogSumExp:
    case OpKind::ReduceMax:
    case OpKind::ReduceMean:
    case OpKind::ReduceMin:
    case OpKind::ReduceProd:
    case OpKind::ReduceSum:
    case OpKind::ReduceSumSquare:
    case OpKind::ArgMax:
    case OpKind::ArgMin:
    case OpKind::CumSum:
      return numel(n.input(0));
    // Normalizations: a few passes over the data (mean, variance, scale and shift).
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::Hardmax:
      return scaled(numel(out), 5);
    case OpKind::LayerNormalization:
    case OpKind::GroupNormalization:
    case OpKind::InstanceNormalization:
    case OpKind::MeanVarianceNormalization:
    case OpKind::LpNormalization:
      return scaled(numel(out), 8);
    case OpKind::BatchNormalization:
      return scaled(numel(out), 2);
    // Elementwise arithmetic and activations: one per output element.
    case OpKind::Abs: case OpKind::Acos: case OpKind::Acosh: case OpKind::Add:
    case OpKind::Asin: case OpKind::Asinh: case OpKind::Atan: case OpKind::Atanh:
    case OpKind::Ceil: case OpKind::Celu: case OpKind::Clip: case OpKind::Cos:
    case OpKind::Cosh: case OpKind::Div: case OpKind::Elu: case OpKind::Erf:
    case OpKind::Exp: case OpKind::Floor: case OpKind::Gelu: case OpKind::HardSigmoid:
    case OpKind::HardSwish: case OpKind::LeakyRelu: case OpKind::Log: case OpKind::Max:
    case OpKind::Mean: case OpKind::Min: case OpKind::Mish: case OpKind::Mod:
    case OpKind::Mul: case OpKind::Neg: case OpKind::PRelu: case OpKind::Pow:
    case OpKind::Reciprocal: case OpKind::Relu: case OpKind::Round: case OpKind::Selu:
    case OpKind::Shrink: case OpKind::Sigmoid: case OpKind::Sign: case OpKind::Sin:
    case OpKind::Sinh: case OpKind::Softplus: case OpKind::Softsign: case OpKind::Sqrt:
    case OpKind::Sub: case OpKind::Sum: case OpKind::Tan: case OpKind::Tanh:
    case OpKind::ThresholdedRelu: case OpKind::Where: case OpKind::Equal:
    case OpKind::Greater: case OpKind::GreaterOrEqual: case OpKind::Less:
    case OpKind::LessOrEqual:
      return numel(out);
    // Data movement: no arithmetic.
    case OpKind::Cast: case OpKind::CastLike: case OpKind::Concat: case OpKind::DepthToSpace:
    case OpKind::Expand: case OpKind::Flatten: case OpKind::Gather:
    case OpKind::GatherElements: case OpKind::GatherND: case OpKind::Identity:
    case OpKind::Pad: case OpKind::Reshape: case OpKind::Shape: case OpKind::Size:
    case OpKind::Slice: case OpKind::SpaceToDepth: case OpKind::Split:
    case OpKind::Squeeze: case OpKind::Tile: case OpKind::Transpose:
    case OpKind::Unsqueeze: case OpKind::NonZero: case OpKind::ConstantOfShape:
    case OpKind::Range: case OpKind::Trilu: case OpKind::OneHot:
      return Dim(0);
    default:
      return std::nullopt;
  }
}

}  // namespace eave
