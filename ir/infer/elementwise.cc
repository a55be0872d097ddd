// Shape inference: element-wise ops. Outputs broadcast their inputs; small integer tensors
// with symbolic values (shape arithmetic like Shape(x)[0] * 2) propagate those values.
#include "ir/shape_inference.h"

namespace eave {

namespace {

// Same type and shape as input 0.
void same_as_input(InferContext& c) {
  if (!c.has_input(0)) return;
  c.set_output_type(0, c.input_type(0));
  if (auto s = c.sym_input(0); s && (c.node().kind() == OpKind::Identity)) c.set_sym_output(0, *s);
}

Shape broadcast_inputs(InferContext& c, size_t first = 0) {
  std::vector<Shape> shapes;
  for (size_t i = first; i < c.num_inputs(); ++i)
    if (c.has_input(i)) shapes.push_back(c.in_shape(i));
  return broadcast_shapes(shapes, c.node().describe());
}

// Elementwise arithmetic on symbolic values, when both sides are known and broadcastable.
template <class F>
void propagate_binary(InferContext& c, F f) {
  auto a = c.sym_input(0);
  auto b = c.sym_input(1);
  if (!a || !b) return;
  if (a->size() != b->size() && a->size() != 1 && b->size() != 1) return;
  size_t n = std::max(a->size(), b->size());
  std::vector<Dim> out;
  for (size_t i = 0; i < n; ++i) {
    auto r = f((*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]);
    if (!r) return;
    out.push_back(*r);
  }
  c.set_sym_output(0, std::move(out));
}

void binary_arith(InferContext& c) {
  c.set_output(0, c.in_dtype(0), broadcast_inputs(c));
  if (!is_integer(c.in_dtype(0))) return;
  switch (c.node().kind()) {
    case OpKind::Add: propagate_binary(c, [](Dim a, Dim b) { return std::optional(a + b); }); break;
    case OpKind::Sub: propagate_binary(c, [](Dim a, Dim b) { return std::optional(a - b); }); break;
    case OpKind::Mul: propagate_binary(c, [](Dim a, Dim b) { return std::optional(a * b); }); break;
    case OpKind::Div:
      // Integer Div truncates; on dims (non-negative) that is floor division.
      propagate_binary(c, [](Dim a, Dim b) -> std::optional<Dim> {
        if (b.is_const() && b.value() <= 0) return std::nullopt;
        return Dim::floordiv(a, b);
      });
      break;
    default: break;
  }
}

void variadic(InferContext& c) {
  c.set_output(0, c.in_dtype(0), broadcast_inputs(c));
  if (!is_integer(c.in_dtype(0)) || c.num_inputs() != 2) return;
  if (c.node().kind() == OpKind::Max)
    propagate_binary(c, [](Dim a, Dim b) { return std::optional(Dim::max(a, b)); });
  if (c.node().kind() == OpKind::Min)
    propagate_binary(c, [](Dim a, Dim b) { return std::optional(Dim::min(a, b)); });
}

void to_bool(InferContext& c) { c.set_output(0, DType::Bool, broadcast_inputs(c)); }

void where(InferContext& c) { c.set_output(0, c.in_dtype(1), broadcast_inputs(c)); }

void clip(InferContext& c) { c.set_output_type(0, c.input_type(0)); }

void pow(InferContext& c) { c.set_output(0, c.in_dtype(0), broadcast_inputs(c)); }

void prelu(InferContext& c) {
  // The slope broadcasts to X (unidirectionally); the output is X's shape.
  c.set_output_type(0, c.input_type(0));
}

void cast(InferContext& c) {
  DType to = dtype_from_onnx(int32_t(c.node().attr_int("to")));
  c.check(to != DType::Undefined, "cast to element type code ", c.node().attr_int("to"),
          " is not supported");
  c.set_output(0, to, c.in_shape(0));
  if (is_integer(to))
    if (auto s = c.sym_input(0)) c.set_sym_output(0, *s);
}

void cast_like(InferContext& c) {
  c.set_output(0, c.in_dtype(1), c.in_shape(0));
  if (is_integer(c.in_dtype(1)))
    if (auto s = c.sym_input(0)) c.set_sym_output(0, *s);
}

void neg(InferContext& c) {
  c.set_output_type(0, c.input_type(0));
  if (auto s = c.sym_input(0)) {
    std::vector<Dim> out;
    for (const Dim& d : *s) out.push_back(Dim(0) - d);
    c.set_sym_output(0, std::move(out));
  }
}

void is_nan_inf(InferContext& c) { c.set_output(0, DType::Bool, c.in_shape(0)); }

}  // namespace

void register_elementwise_infer_rules(std::vector<InferFn>& r) {
  for (OpKind k :
       {OpKind::Abs, OpKind::Sign, OpKind::Exp, OpKind::Log, OpKind::Sqrt, OpKind::Sin,
        OpKind::Cos, OpKind::Tan, OpKind::Asin, OpKind::Acos, OpKind::Atan, OpKind::Sinh,
        OpKind::Cosh, OpKind::Asinh, OpKind::Acosh, OpKind::Atanh, OpKind::Tanh, OpKind::Erf,
        OpKind::Floor, OpKind::Ceil, OpKind::Round, OpKind::Reciprocal, OpKind::Sigmoid,
        OpKind::Softplus, OpKind::Softsign, OpKind::Mish, OpKind::HardSwish, OpKind::Relu,
        OpKind::LeakyRelu, OpKind::Elu, OpKind::Celu, OpKind::Selu, OpKind::HardSigmoid,
        OpKind::ThresholdedRelu, OpKind::Shrink, OpKind::Gelu, OpKind::Not, OpKind::BitwiseNot,
        OpKind::Identity})
    r[size_t(k)] = same_as_input;
  for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Mod,
                   OpKind::BitShift, OpKind::BitwiseAnd, OpKind::BitwiseOr, OpKind::BitwiseXor})
    r[size_t(k)] = binary_arith;
  for (OpKind k : {OpKind::And, OpKind::Or, OpKind::Xor, OpKind::Equal, OpKind::Less,
                   OpKind::Greater, OpKind::LessOrEqual, OpKind::GreaterOrEqual})
    r[size_t(k)] = to_bool;
  for (OpKind k : {OpKind::Sum, OpKind::Mean, OpKind::Max, OpKind::Min}) r[size_t(k)] = variadic;
  r[size_t(OpKind::Neg)] = neg;
  r[size_t(OpKind::Where)] = where;
  r[size_t(OpKind::Clip)] = clip;
  r[size_t(OpKind::Pow)] = pow;
  r[size_t(OpKind::PRelu)] = prelu;
  r[size_t(OpKind::Cast)] = cast;
  r[size_t(OpKind::CastLike)] = cast_like;
  r[size_t(OpKind::IsNaN)] = is_nan_inf;
  r[size_t(OpKind::IsInf)] = is_nan_inf;
}

}  // namespace eave
