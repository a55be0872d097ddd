#include "lowering/elementwise_ops.h"

#include <cmath>
#include <limits>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

Type storage_type(Builder& b, DType t) {
  switch (t) {
    case DType::F32: return b.getF32Type();
    case DType::F64: return b.getF64Type();
    case DType::F16: return b.getF16Type();
    case DType::BF16: return b.getBF16Type();
    case DType::I8: case DType::U8: case DType::Bool: return b.getI8Type();
    case DType::I16: case DType::U16: return b.getI16Type();
    case DType::I32: case DType::U32: return b.getI32Type();
    case DType::I64: case DType::U64: return b.getI64Type();
    default: internal_fail("no storage type for ", dtype_name(t));
  }
}

Type compute_type(Builder& b, DType t) {
  if (t == DType::F16 || t == DType::BF16) return b.getF32Type();
  if (t == DType::Bool) return b.getI1Type();
  return storage_type(b, t);
}

namespace {

// `elem` shaped like `like` (a vector of the same shape, or the scalar itself).
Type shaped_like(Value like, Type elem) {
  if (auto vt = dyn_cast<VectorType>(like.getType())) return VectorType::get(vt.getShape(), elem);
  return elem;
}

Type element_of(Value v) { return getElementTypeOrSelf(v.getType()); }

Value constant(OpBuilder& b, Location loc, Type type, double x) {
  Type elem = getElementTypeOrSelf(type);
  TypedAttr attr;
  if (isa<FloatType>(elem)) attr = b.getFloatAttr(elem, x);
  else attr = b.getIntegerAttr(elem, int64_t(x));
  if (auto vt = dyn_cast<VectorType>(type)) return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vt, attr));
  return arith::ConstantOp::create(b, loc, attr);
}

Value constant_like(OpBuilder& b, Location loc, Value like, double x) {
  return constant(b, loc, like.getType(), x);
}

bool is_unsigned(DType t) {
  return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64 || t == DType::Bool;
}

// A value converted from its compute type to the compute type of `to`.
Value convert(OpBuilder& b, Location loc, const TypedValue& x, DType to) {
  Type dst_elem = compute_type(b, to);
  Type dst = shaped_like(x.v, dst_elem);
  Type src_elem = element_of(x.v);
  if (src_elem == dst_elem) return x.v;
  bool src_float = isa<FloatType>(src_elem), dst_float = isa<FloatType>(dst_elem);
  if (dst_elem.isInteger(1)) {  // to bool: nonzero (NaN too)
    if (src_float)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x.v, constant_like(b, loc, x.v, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x.v, constant_like(b, loc, x.v, 0));
  }
  if (src_float && dst_float) {
    if (src_elem.getIntOrFloatBitWidth() < dst_elem.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, dst, x.v);
    return arith::TruncFOp::create(b, loc, dst, x.v);
  }
  if (!src_float && dst_float) {
    if (is_unsigned(x.dtype)) return arith::UIToFPOp::create(b, loc, dst, x.v);
    return arith::SIToFPOp::create(b, loc, dst, x.v);
  }
  if (src_float && !dst_float) {
    // Truncate toward zero, saturating to the target's range; NaN becomes 0 (as the reference
    // interpreter does: ONNX leaves it undefined, LLVM would make it poison). Clamp in f64 so
    // the bounds are exact.
    Type f64 = shaped_like(x.v, b.getF64Type());
    Value d = src_elem.isF64() ? x.v : arith::ExtFOp::create(b, loc, f64, x.v);
    unsigned bits = dst_elem.getIntOrFloatBitWidth();
    bool uns = is_unsigned(to);
    double lo = uns ? 0.0 : -std::ldexp(1.0, int(bits) - 1);
    double hi = uns ? std::ldexp(1.0, int(bits)) - 1 : std::ldexp(1.0, int(bits) - 1) - 1;
    if (bits == 64) hi = uns ? 18446744073709549568.0 : 9223372036854774784.0;
    Value c = arith::MaximumFOp::create(b, loc, d, constant(b, loc, f64, lo));
    c = arith::MinimumFOp::create(b, loc, c, constant(b, loc, f64, hi));
    Value nan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, d, d);
    c = arith::SelectOp::create(b, loc, nan, constant(b, loc, f64, 0), c);
    if (uns) return arith::FPToUIOp::create(b, loc, dst, c);
    return arith::FPToSIOp::create(b, loc, dst, c);
  }
  // integer to integer
  unsigned sb = src_elem.getIntOrFloatBitWidth(), db = dst_elem.getIntOrFloatBitWidth();
  if (sb > db) return arith::TruncIOp::create(b, loc, dst, x.v);
  if (is_unsigned(x.dtype)) return arith::ExtUIOp::create(b, loc, dst, x.v);
  return arith::ExtSIOp::create(b, loc, dst, x.v);
}

bool is_float_compute(Value v) { return isa<FloatType>(element_of(v)); }

Value select(OpBuilder& b, Location loc, Value c, Value x, Value y) {
  return arith::SelectOp::create(b, loc, c, x, y);
}

Value cmp(OpBuilder& b, Location loc, const char* op, const TypedValue& x, Value y) {
  bool f = is_float_compute(x.v);
  bool u = is_unsigned(x.dtype);
  std::string o = op;
  if (f) {
    arith::CmpFPredicate p = o == "eq" ? arith::CmpFPredicate::OEQ
                             : o == "ne" ? arith::CmpFPredicate::UNE
                             : o == "lt" ? arith::CmpFPredicate::OLT
                             : o == "le" ? arith::CmpFPredicate::OLE
                             : o == "gt" ? arith::CmpFPredicate::OGT
                                         : arith::CmpFPredicate::OGE;
    return arith::CmpFOp::create(b, loc, p, x.v, y);
  }
  arith::CmpIPredicate p = o == "eq" ? arith::CmpIPredicate::eq
                           : o == "ne" ? arith::CmpIPredicate::ne
                           : o == "lt" ? (u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt)
                           : o == "le" ? (u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                           : o == "gt" ? (u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                                       : (u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge);
  return arith::CmpIOp::create(b, loc, p, x.v, y);
}

Value add(OpBuilder& b, Location loc, Value x, Value y) {
  return is_float_compute(x) ? (Value)arith::AddFOp::create(b, loc, x, y) : (Value)arith::AddIOp::create(b, loc, x, y);
}
Value sub(OpBuilder& b, Location loc, Value x, Value y) {
  return is_float_compute(x) ? (Value)arith::SubFOp::create(b, loc, x, y) : (Value)arith::SubIOp::create(b, loc, x, y);
}
Value mul(OpBuilder& b, Location loc, Value x, Value y) {
  return is_float_compute(x) ? (Value)arith::MulFOp::create(b, loc, x, y) : (Value)arith::MulIOp::create(b, loc, x, y);
}

// Integer division and remainder that never trap: by zero gives 0 and MIN / -1 gives MIN, as
// the reference interpreter defines them (ONNX leaves both undefined).
Value safe_divisor(OpBuilder& b, Location loc, const TypedValue& x, Value y, Value* zero_mask) {
  Value zero = constant_like(b, loc, y, 0);
  *zero_mask = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, zero);
  Value d = select(b, loc, *zero_mask, constant_like(b, loc, y, 1), y);
  if (!is_unsigned(x.dtype)) {
    // MIN / -1 overflows: divide by 1 instead (MIN / 1 = MIN, MIN % 1 = 0 = MIN % -1).
    unsigned bits = element_of(y).getIntOrFloatBitWidth();
    Value min = constant_like(b, loc, y, 0);
    min = arith::ConstantOp::create(
        b, loc,
        isa<VectorType>(y.getType())
            ? (TypedAttr)DenseElementsAttr::get(cast<VectorType>(y.getType()),
                                                APInt::getSignedMinValue(bits))
            : (TypedAttr)b.getIntegerAttr(element_of(y), APInt::getSignedMinValue(bits)));
    Value is_min = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, x.v, min);
    Value is_m1 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, constant_like(b, loc, y, -1));
    Value overflow = arith::AndIOp::create(b, loc, is_min, is_m1);
    d = select(b, loc, overflow, constant_like(b, loc, y, 1), d);
  }
  return d;
}

Value int_div(OpBuilder& b, Location loc, const TypedValue& x, Value y) {
  Value zero_mask;
  Value d = safe_divisor(b, loc, x, y, &zero_mask);
  Value q = is_unsigned(x.dtype) ? (Value)arith::DivUIOp::create(b, loc, x.v, d)
                                 : (Value)arith::DivSIOp::create(b, loc, x.v, d);
  return select(b, loc, zero_mask, constant_like(b, loc, y, 0), q);
}

Value int_rem(OpBuilder& b, Location loc, const TypedValue& x, Value y) {
  Value zero_mask;
  Value d = safe_divisor(b, loc, x, y, &zero_mask);
  Value r = is_unsigned(x.dtype) ? (Value)arith::RemUIOp::create(b, loc, x.v, d)
                                 : (Value)arith::RemSIOp::create(b, loc, x.v, d);
  return select(b, loc, zero_mask, constant_like(b, loc, y, 0), r);
}

float fattr(const Node& n, const char* name, float dflt) { return n.attr_float(name, dflt); }

bool numeric(DType t) { return t != DType::String && t != DType::Undefined && t != DType::Complex64 && t != DType::Complex128; }

}  // namespace

Value convert_to(OpBuilder& b, Location loc, const TypedValue& x, DType to) {
  return convert(b, loc, x, to);
}

TypedValue from_storage(OpBuilder& b, Location loc, Value stored, DType t) {
  Type ct = shaped_like(stored, compute_type(b, t));
  if (stored.getType() == ct) return {stored, t};
  if (t == DType::Bool)
    return {arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, stored, constant_like(b, loc, stored, 0)), t};
  if (t == DType::BF16) {
    // The f32 whose high half is the bf16: exact, and in plain integer ops that LLVM lowers
    // for vectors of any length (its bf16 extension gives up on odd ones).
    Value bits = arith::BitcastOp::create(b, loc, shaped_like(stored, b.getI16Type()), stored);
    Value wide = arith::ExtUIOp::create(b, loc, shaped_like(stored, b.getI32Type()), bits);
    Value high = arith::ShLIOp::create(b, loc, wide, constant_like(b, loc, wide, 16));
    return {arith::BitcastOp::create(b, loc, ct, high), t};
  }
  return {arith::ExtFOp::create(b, loc, ct, stored), t};  // f16
}

Value to_storage(OpBuilder& b, Location loc, const TypedValue& v) {
  Type st = shaped_like(v.v, storage_type(b, v.dtype));
  if (v.v.getType() == st) return v.v;
  if (v.dtype == DType::Bool) return arith::ExtUIOp::create(b, loc, st, v.v);
  return arith::TruncFOp::create(b, loc, st, v.v);  // f32 -> f16/bf16, round to nearest even
}

bool elementwise_supported(const Node& n) {
  for (const eave::Value* v : n.inputs())
    if (v && (!v->type().is_tensor() || !numeric(v->dtype()))) return false;
  if (n.num_outputs() != 1 || !n.output(0) || !n.output(0)->type().is_tensor() ||
      !numeric(n.output(0)->dtype()))
    return false;
  DType in0 = n.input(0) ? n.input(0)->dtype() : DType::Undefined;
  bool fl = is_float(in0);
  switch (n.kind()) {
    case OpKind::Exp: case OpKind::Log: case OpKind::Sqrt: case OpKind::Sin: case OpKind::Cos:
    case OpKind::Tan: case OpKind::Asin: case OpKind::Acos: case OpKind::Atan: case OpKind::Sinh:
    case OpKind::Cosh: case OpKind::Asinh: case OpKind::Acosh: case OpKind::Atanh:
    case OpKind::Tanh: case OpKind::Erf: case OpKind::Floor: case OpKind::Ceil: case OpKind::Round:
    case OpKind::Reciprocal: case OpKind::Sigmoid: case OpKind::Softplus: case OpKind::Softsign:
    case OpKind::Mish: case OpKind::HardSwish: case OpKind::LeakyRelu: case OpKind::Elu:
    case OpKind::Celu: case OpKind::Selu: case OpKind::HardSigmoid: case OpKind::ThresholdedRelu:
    case OpKind::Shrink: case OpKind::Gelu: case OpKind::IsNaN: case OpKind::IsInf:
      return fl;
    case OpKind::Abs: case OpKind::Neg: case OpKind::Sign: case OpKind::Relu:
    case OpKind::Add: case OpKind::Sub: case OpKind::Mul: case OpKind::Div:
    case OpKind::Max: case OpKind::Min: case OpKind::Sum: case OpKind::Mean: case OpKind::PRelu:
    case OpKind::Clip:
      return in0 != DType::Bool;
    case OpKind::Mod:
      return in0 != DType::Bool && (!fl || n.attr_int("fmod", 0) == 1);
    case OpKind::Pow:
      return in0 != DType::Bool && n.input(1) && n.input(1)->dtype() != DType::Bool;
    case OpKind::BitShift: case OpKind::BitwiseAnd: case OpKind::BitwiseOr:
    case OpKind::BitwiseXor: case OpKind::BitwiseNot:
      return is_integer(in0);
    case OpKind::And: case OpKind::Or: case OpKind::Xor: case OpKind::Not:
      return in0 == DType::Bool;
    case OpKind::Equal: case OpKind::Less: case OpKind::Greater: case OpKind::LessOrEqual:
    case OpKind::GreaterOrEqual: case OpKind::Where: case OpKind::Cast: case OpKind::CastLike:
    case OpKind::Identity:
      return true;
    default:
      return false;
  }
}

TypedValue build_elementwise(OpBuilder& b, Location loc, const Node& n,
                             const std::vector<TypedValue>& ins) {
  DType out = n.output(0)->dtype();
  const TypedValue& x = ins.at(0);
  auto C = [&](double v) { return constant_like(b, loc, x.v, v); };
  auto F = [&](Value v) { return TypedValue{v, out}; };
  auto math1 = [&](auto tag) {
    using Op = decltype(tag);
    return F(Op::create(b, loc, x.v));
  };
  switch (n.kind()) {
    // ---- float unary
    case OpKind::Exp: return math1(math::ExpOp());
    case OpKind::Log: return math1(math::LogOp());
    case OpKind::Sqrt: return math1(math::SqrtOp());
    case OpKind::Sin: return math1(math::SinOp());
    case OpKind::Cos: return math1(math::CosOp());
    case OpKind::Tan: return math1(math::TanOp());
    case OpKind::Asin: return math1(math::AsinOp());
    case OpKind::Acos: return math1(math::AcosOp());
    case OpKind::Atan: return math1(math::AtanOp());
    case OpKind::Sinh: return math1(math::SinhOp());
    case OpKind::Cosh: return math1(math::CoshOp());
    case OpKind::Asinh: return math1(math::AsinhOp());
    case OpKind::Acosh: return math1(math::AcoshOp());
    case OpKind::Atanh: return math1(math::AtanhOp());
    case OpKind::Tanh: return math1(math::TanhOp());
    case OpKind::Erf: return math1(math::ErfOp());
    case OpKind::Floor: return math1(math::FloorOp());
    case OpKind::Ceil: return math1(math::CeilOp());
    case OpKind::Round: return math1(math::RoundEvenOp());
    case OpKind::Reciprocal: return F(arith::DivFOp::create(b, loc, C(1), x.v));
    case OpKind::Sigmoid: {
      Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x.v));
      return F(arith::DivFOp::create(b, loc, C(1), arith::AddFOp::create(b, loc, C(1), e)));
    }
    case OpKind::Softplus: {
      // log(1 + e^x), which is x itself once e^x swamps 1.
      Value sp = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x.v));
      return F(select(b, loc, cmp(b, loc, "gt", x, C(30)), x.v, sp));
    }
    case OpKind::Softsign:
      return F(arith::DivFOp::create(b, loc, x.v, arith::AddFOp::create(b, loc, C(1), math::AbsFOp::create(b, loc, x.v))));
    case OpKind::Mish: {
      Value sp = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x.v));
      return F(arith::MulFOp::create(b, loc, x.v, math::TanhOp::create(b, loc, sp)));
    }
    case OpKind::HardSwish: {
      Value t = arith::AddFOp::create(b, loc, arith::DivFOp::create(b, loc, x.v, C(6)), C(0.5));
      t = arith::MaximumFOp::create(b, loc, C(0), arith::MinimumFOp::create(b, loc, C(1), t));
      return F(arith::MulFOp::create(b, loc, x.v, t));
    }
    case OpKind::LeakyRelu: {
      Value ax = arith::MulFOp::create(b, loc, C(fattr(n, "alpha", 0.01f)), x.v);
      return F(select(b, loc, cmp(b, loc, "ge", x, C(0)), x.v, ax));
    }
    case OpKind::Elu: {
      Value em = arith::MulFOp::create(b, loc, C(fattr(n, "alpha", 1.0f)), math::ExpM1Op::create(b, loc, x.v));
      return F(select(b, loc, cmp(b, loc, "ge", x, C(0)), x.v, em));
    }
    case OpKind::Celu: {
      double alpha = fattr(n, "alpha", 1.0f);
      Value em = arith::MulFOp::create(b, loc, C(alpha),
                                       math::ExpM1Op::create(b, loc, arith::DivFOp::create(b, loc, x.v, C(alpha))));
      return F(arith::AddFOp::create(b, loc, arith::MaximumFOp::create(b, loc, C(0), x.v),
                                     arith::MinimumFOp::create(b, loc, C(0), em)));
    }
    case OpKind::Selu: {
      double alpha = fattr(n, "alpha", 1.67326319217681884765625f);
      double gamma = fattr(n, "gamma", 1.05070102214813232421875f);
      Value em = arith::MulFOp::create(b, loc, C(alpha), math::ExpM1Op::create(b, loc, x.v));
      return F(arith::MulFOp::create(b, loc, C(gamma), select(b, loc, cmp(b, loc, "gt", x, C(0)), x.v, em)));
    }
    case OpKind::HardSigmoid: {
      Value t = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, C(fattr(n, "alpha", 0.2f)), x.v),
                                      C(fattr(n, "beta", 0.5f)));
      return F(arith::MaximumFOp::create(b, loc, C(0), arith::MinimumFOp::create(b, loc, C(1), t)));
    }
    case OpKind::ThresholdedRelu:
      return F(select(b, loc, cmp(b, loc, "gt", x, C(fattr(n, "alpha", 1.0f))), x.v, C(0)));
    case OpKind::Shrink: {
      double bias = fattr(n, "bias", 0.0f), lambd = fattr(n, "lambd", 0.5f);
      Value lo = arith::AddFOp::create(b, loc, x.v, C(bias));
      Value hi = arith::SubFOp::create(b, loc, x.v, C(bias));
      return F(select(b, loc, cmp(b, loc, "lt", x, C(-lambd)), lo,
                      select(b, loc, cmp(b, loc, "gt", x, C(lambd)), hi, C(0))));
    }
    case OpKind::Gelu: {
      Value inner;
      if (n.attr_string("approximate", "none") == "tanh") {
        Value cube = arith::MulFOp::create(b, loc, x.v, arith::MulFOp::create(b, loc, x.v, x.v));
        Value t = arith::AddFOp::create(b, loc, x.v, arith::MulFOp::create(b, loc, C(0.044715), cube));
        inner = math::TanhOp::create(b, loc, arith::MulFOp::create(b, loc, C(std::sqrt(2.0 / M_PI)), t));
      } else {
        inner = math::ErfOp::create(b, loc, arith::DivFOp::create(b, loc, x.v, C(std::sqrt(2.0))));
      }
      Value half_x = arith::MulFOp::create(b, loc, C(0.5), x.v);
      return F(arith::MulFOp::create(b, loc, half_x, arith::AddFOp::create(b, loc, C(1), inner)));
    }
    case OpKind::IsNaN:
      return F(arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x.v, x.v));
    case OpKind::IsInf: {
      bool pos = n.attr_int("detect_positive", 1) != 0, neg = n.attr_int("detect_negative", 1) != 0;
      Value p = cmp(b, loc, "eq", x, C(INFINITY)), m = cmp(b, loc, "eq", x, C(-INFINITY));
      Value f = constant(b, loc, p.getType(), 0);
      return F(arith::OrIOp::create(b, loc, pos ? p : f, neg ? m : f));
    }
    // ---- numeric unary
    case OpKind::Abs:
      if (is_float_compute(x.v)) return F(math::AbsFOp::create(b, loc, x.v));
      if (is_unsigned(x.dtype)) return F(x.v);
      return F(math::AbsIOp::create(b, loc, x.v));
    case OpKind::Neg:
      if (is_float_compute(x.v)) return F(arith::NegFOp::create(b, loc, x.v));
      return F(arith::SubIOp::create(b, loc, C(0), x.v));
    case OpKind::Sign: {
      Value neg = is_unsigned(x.dtype) ? C(0) : C(-1);
      Value zero_or_nan = is_float_compute(x.v) ? x.v : C(0);
      return F(select(b, loc, cmp(b, loc, "gt", x, C(0)), C(1),
                      select(b, loc, cmp(b, loc, "lt", x, C(0)), neg, zero_or_nan)));
    }
    case OpKind::Relu:
      return F(select(b, loc, cmp(b, loc, "gt", x, C(0)), x.v, C(0)));
    case OpKind::Not:
      return F(arith::XOrIOp::create(b, loc, x.v, C(1)));
    case OpKind::BitwiseNot:
      return F(arith::XOrIOp::create(b, loc, x.v, C(-1)));
    case OpKind::Identity:
      return F(x.v);
    case OpKind::Cast:
    case OpKind::CastLike:
      return F(convert(b, loc, x, out));
    // ---- binary
    case OpKind::Add: return F(add(b, loc, x.v, ins[1].v));
    case OpKind::Sub: return F(sub(b, loc, x.v, ins[1].v));
    case OpKind::Mul: return F(mul(b, loc, x.v, ins[1].v));
    case OpKind::Div:
      if (is_float_compute(x.v)) return F(arith::DivFOp::create(b, loc, x.v, ins[1].v));
      return F(int_div(b, loc, x, ins[1].v));
    case OpKind::Mod: {
      Value y = ins[1].v;
      if (is_float_compute(x.v)) return F(arith::RemFOp::create(b, loc, x.v, y));
      Value r = int_rem(b, loc, x, y);
      if (n.attr_int("fmod", 0) == 1 || is_unsigned(x.dtype)) return F(r);
      // Floor modulo: the result takes the divisor's sign.
      Value r_neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, r, C(0));
      Value y_neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, y, C(0));
      Value r_nz = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, r, C(0));
      Value fix = arith::AndIOp::create(b, loc, r_nz, arith::XOrIOp::create(b, loc, r_neg, y_neg));
      return F(select(b, loc, fix, arith::AddIOp::create(b, loc, r, y), r));
    }
    case OpKind::Pow: {
      if (is_float_compute(x.v)) {
        Value e = convert(b, loc, ins[1], x.dtype);
        return F(math::PowFOp::create(b, loc, x.v, e));
      }
      // Integer base: pow in double, then truncate, as the reference does.
      Value bd = convert(b, loc, x, DType::F64);
      Value ed = convert(b, loc, ins[1], DType::F64);
      TypedValue r{math::PowFOp::create(b, loc, bd, ed), DType::F64};
      return F(convert(b, loc, TypedValue{convert(b, loc, r, DType::I64), DType::I64}, out));
    }
    case OpKind::BitShift: {
      Value y = ins[1].v;
      unsigned bits = element_of(x.v).getIntOrFloatBitWidth();
      Value big = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, y, C(bits));
      Value s = n.attr_string("direction") == "LEFT" ? (Value)arith::ShLIOp::create(b, loc, x.v, y)
                                                     : (Value)arith::ShRUIOp::create(b, loc, x.v, y);
      return F(select(b, loc, big, C(0), s));
    }
    case OpKind::And: case OpKind::BitwiseAnd: return F(arith::AndIOp::create(b, loc, x.v, ins[1].v));
    case OpKind::Or: case OpKind::BitwiseOr: return F(arith::OrIOp::create(b, loc, x.v, ins[1].v));
    case OpKind::Xor: case OpKind::BitwiseXor: return F(arith::XOrIOp::create(b, loc, x.v, ins[1].v));
    case OpKind::Equal: return F(cmp(b, loc, "eq", x, ins[1].v));
    case OpKind::Less: return F(cmp(b, loc, "lt", x, ins[1].v));
    case OpKind::Greater: return F(cmp(b, loc, "gt", x, ins[1].v));
    case OpKind::LessOrEqual: return F(cmp(b, loc, "le", x, ins[1].v));
    case OpKind::GreaterOrEqual: return F(cmp(b, loc, "ge", x, ins[1].v));
    case OpKind::PRelu:
      return F(select(b, loc, cmp(b, loc, "lt", x, C(0)), mul(b, loc, x.v, ins[1].v), x.v));
    case OpKind::Where:
      return F(select(b, loc, ins[0].v, ins[1].v, ins[2].v));
    case OpKind::Clip: {
      Value v = x.v;
      Value lo, hi;
      if (n.opset() < 11) {
        lo = C(fattr(n, "min", -std::numeric_limits<float>::max()));
        hi = C(fattr(n, "max", std::numeric_limits<float>::max()));
      } else {
        if (ins.size() > 1 && ins[1].v) lo = ins[1].v;
        if (ins.size() > 2 && ins[2].v) hi = ins[2].v;
      }
      if (lo) v = select(b, loc, cmp(b, loc, "lt", TypedValue{v, x.dtype}, lo), lo, v);
      if (hi) v = select(b, loc, cmp(b, loc, "gt", TypedValue{v, x.dtype}, hi), hi, v);
      return F(v);
    }
    // ---- variadic
    case OpKind::Max: case OpKind::Min: case OpKind::Sum: case OpKind::Mean: {
      Value acc = x.v;
      bool f = is_float_compute(acc), u = is_unsigned(x.dtype);
      for (size_t i = 1; i < ins.size(); ++i) {
        Value y = ins[i].v;
        switch (n.kind()) {
          case OpKind::Max:
            acc = f ? (Value)arith::MaximumFOp::create(b, loc, acc, y)
                    : u ? (Value)arith::MaxUIOp::create(b, loc, acc, y) : (Value)arith::MaxSIOp::create(b, loc, acc, y);
            break;
          case OpKind::Min:
            acc = f ? (Value)arith::MinimumFOp::create(b, loc, acc, y)
                    : u ? (Value)arith::MinUIOp::create(b, loc, acc, y) : (Value)arith::MinSIOp::create(b, loc, acc, y);
            break;
          default: acc = add(b, loc, acc, y); break;
        }
      }
      if (n.kind() == OpKind::Mean) {
        Value cnt = C(double(ins.size()));
        acc = f ? (Value)arith::DivFOp::create(b, loc, acc, cnt) : int_div(b, loc, TypedValue{acc, x.dtype}, cnt);
      }
      return F(acc);
    }
    default:
      internal_fail(n.describe(), ": no elementwise lowering");
  }
}

}  // namespace eave::lowering
