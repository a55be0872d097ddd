// Lowering: reductions. ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/SumSquare over
// constant axes, and ArgMax/ArgMin along one axis, for every dtype the reference interpreter
// accepts, with its results for NaN and empty groups (reference/reduction.cc defines them).
//
// The input's axes are merged into alternating groups of kept and reduced axes (size-1 axes
// dropped). Two layouts cover every case:
//   row      the last group is reduced: each output element reduces its elements into 4
//            vectors of accumulators (1 for short rows) along the contiguous last group, the
//            whole blocks as one scheduled accumulation and the rest as another, looping over
//            the other reduced groups; one horizontal reduction at the end. Threads split the
//            output elements.
//   column   the last group is kept: each output row keeps blocks of up to 4 vectors of
//            contiguous output columns as accumulators while it walks the reduced groups (the
//            innermost one as the steps of a scheduled accumulation). Threads split (row,
//            column block) pairs.
// The accumulations are linalg.generic ops turned into loops that carry the accumulators in
// registers by the reduce_steps schedules (lowering/accumulator.h). ArgMax/ArgMin, whose
// per-lane best values and indices merge by the reference's tie rule, are vector loops
// written directly.
// Elementwise consumers of the result fuse into the kernel and run on it before the store.
//
// Accumulation follows the reference: floats in their compute type (f32 for f16/bf16), sums,
// products and extremes of integers in the element type (wrapping sums are the same in any
// width), integer means and norms in 64 bits, integer LogSumExp in double.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "lowering/accumulator.h"
#include "lowering/kernel_builder.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

enum class Red { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare, ArgMax, ArgMin };

std::optional<Red> red_of(OpKind k) {
  switch (k) {
    case OpKind::ReduceSum: return Red::Sum;
    case OpKind::ReduceMean: return Red::Mean;
    case OpKind::ReduceMax: return Red::Max;
    case OpKind::ReduceMin: return Red::Min;
    case OpKind::ReduceProd: return Red::Prod;
    case OpKind::ReduceL1: return Red::L1;
    case OpKind::ReduceL2: return Red::L2;
    case OpKind::ReduceLogSum: return Red::LogSum;
    case OpKind::ReduceLogSumExp: return Red::LogSumExp;
    case OpKind::ReduceSumSquare: return Red::SumSquare;
    case OpKind::ArgMax: return Red::ArgMax;
    case OpKind::ArgMin: return Red::ArgMin;
    default: return std::nullopt;
  }
}

bool is_arg(Red r) { return r == Red::ArgMax || r == Red::ArgMin; }

bool numeric(DType t) {
  return is_float(t) || is_integer(t) || t == DType::Bool;
}

bool is_unsigned_int(DType t) {
  return t == DType::U8 || t == DType::U16 || t == DType::U32 || t == DType::U64;
}

struct ReduceSpec {
  Red op;
  DType dt;
  bool noop = false;           // Reduce* with no axes and noop_with_empty_axes: a copy
  std::vector<bool> reduced;   // per input axis
  bool select_last = false;    // ArgMax/ArgMin
};

// Normalized, distinct axes; nullopt if one is out of range or repeated.
std::optional<std::vector<bool>> axes_mask(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<bool> m(size_t(rank), false);
  for (int64_t a : axes) {
    int64_t x = a < 0 ? a + rank : a;
    if (x < 0 || x >= rank || m[size_t(x)]) return std::nullopt;
    m[size_t(x)] = true;
  }
  return m;
}

std::optional<ReduceSpec> analyze(const Node& n) {
  auto op = red_of(n.kind());
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  if (!op || !x || !y || !x->type().is_tensor() || !x->shape().has_rank() ||
      !y->type().is_tensor() || !y->shape().has_rank() || !numeric(x->dtype()))
    return std::nullopt;
  for (size_t i = 1; i < n.num_outputs(); ++i)
    if (n.output(i)) return std::nullopt;
  ReduceSpec s;
  s.op = *op;
  s.dt = x->dtype();
  int64_t rank = int64_t(x->shape().rank());
  if (is_arg(s.op)) {
    if (s.dt == DType::Bool || rank == 0) return std::nullopt;
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return std::nullopt;
    // The reference rejects an empty axis; a symbolic one might be empty at run time.
    const Dim& len = x->shape()[size_t(axis)];
    if (!len.is_const() || len.value() < 1) return std::nullopt;
    s.reduced.assign(size_t(rank), false);
    s.reduced[size_t(axis)] = true;
    s.select_last = n.attr_int("select_last_index", 0) != 0;
    return s;
  }
  // Bool only for ReduceMax/ReduceMin since opset 20, as the reference.
  if (s.dt == DType::Bool && !((s.op == Red::Max || s.op == Red::Min) && n.opset() >= 20))
    return std::nullopt;
  int64_t axes_input_since = s.op == Red::Sum ? 13 : 18;
  std::vector<int64_t> axes;
  if (n.opset() >= axes_input_since) {
    if (n.has_attr("axes")) return std::nullopt;
    if (const eave::Value* a = n.input(1)) {
      if (!a->is_constant() || a->dtype() != DType::I64 || a->constant()->rank() != 1)
        return std::nullopt;
      axes = a->constant()->to_int_vector();
    }
  } else {
    axes = n.attr_ints("axes", std::vector<int64_t>{});
  }
  if (axes.empty()) {
    if (n.attr_int("noop_with_empty_axes", 0) != 0) {
      s.noop = true;
      return s;
    }
    s.reduced.assign(size_t(rank), true);
    return s;
  }
  auto m = axes_mask(axes, rank);
  if (!m) return std::nullopt;
  s.reduced = *m;
  return s;
}

// Runs of consecutive kept or reduced axes; `stride` in input elements.
struct Group {
  bool reduced;
  Dim size;
  Dim stride;
};

std::vector<Group> groups_of(const Shape& s, const std::vector<bool>& reduced) {
  std::vector<Group> g;
  for (size_t i = 0; i < s.rank(); ++i) {
    if (s[i] == Dim(1)) continue;
    if (!g.empty() && g.back().reduced == reduced[i]) g.back().size = g.back().size * s[i];
    else g.push_back({reduced[i], s[i], Dim(0)});
  }
  // Reducing only size-1 axes: one-element groups.
  if (std::none_of(g.begin(), g.end(), [](const Group& x) { return x.reduced; }))
    g.push_back({true, Dim(1), Dim(0)});
  Dim stride(1);
  for (size_t i = g.size(); i-- > 0;) {
    g[i].stride = stride;
    stride = stride * g[i].size;
  }
  return g;
}

// ---------------------------------------------------------------- arithmetic on accumulators

using vector::CombiningKind;

bool is_float_type(Value v) { return isa<FloatType>(getElementTypeOrSelf(v.getType())); }

Value combine(KernelBuilder& kb, CombiningKind k, Value a, Value b) {
  auto& B = kb.b();
  switch (k) {
    case CombiningKind::ADD:
      return is_float_type(a) ? Value(arith::AddFOp::create(B, a, b)) : Value(arith::AddIOp::create(B, a, b));
    case CombiningKind::MUL:
      return is_float_type(a) ? Value(arith::MulFOp::create(B, a, b)) : Value(arith::MulIOp::create(B, a, b));
    case CombiningKind::MAXIMUMF: return arith::MaximumFOp::create(B, a, b);
    case CombiningKind::MINIMUMF: return arith::MinimumFOp::create(B, a, b);
    case CombiningKind::MAXNUMF: return arith::MaxNumFOp::create(B, a, b);
    case CombiningKind::MINNUMF: return arith::MinNumFOp::create(B, a, b);
    case CombiningKind::MAXSI: return arith::MaxSIOp::create(B, a, b);
    case CombiningKind::MINSI: return arith::MinSIOp::create(B, a, b);
    case CombiningKind::MAXUI: return arith::MaxUIOp::create(B, a, b);
    case CombiningKind::MINUI: return arith::MinUIOp::create(B, a, b);
    case CombiningKind::OR: return arith::OrIOp::create(B, a, b);
    case CombiningKind::AND: return arith::AndIOp::create(B, a, b);
    default: internal_fail("reduction: unexpected combining kind");
  }
}

Value horizontal(KernelBuilder& kb, CombiningKind k, Value v) {
  bool reassoc = is_float_type(v) && (k == CombiningKind::ADD || k == CombiningKind::MUL);
  return vector::ReductionOp::create(kb.b(), k, v,
                                     reassoc ? arith::FastMathFlags::reassoc : arith::FastMathFlags::none);
}

// The lanes of a vector, 0 for a scalar.
int64_t lanes_of(Value v) {
  auto vt = dyn_cast<VectorType>(v.getType());
  return vt ? vt.getNumElements() : 0;
}

// The accumulation of one Reduce* op: what each element contributes, how contributions
// combine, and the result from the final accumulator. LogSumExp makes two passes (the maximum,
// then the sum of exponentials shifted by it).
class Reducer {
 public:
  Reducer(KernelBuilder& kb, const ReduceSpec& s) : kb_(kb), s_(s) {
    DType t = s.dt;
    if (is_float(t)) {
      acc_ = t == DType::F64 ? DType::F64 : DType::F32;
    } else if (s.op == Red::LogSumExp) {
      acc_ = DType::F64;
    } else if (s.op == Red::Mean || s.op == Red::L2 || s.op == Red::LogSum) {
      acc_ = is_unsigned_int(t) ? DType::U64 : DType::I64;
    } else {
      acc_ = t;
    }
  }

  DType acc_dtype() const { return acc_; }
  Type acc_type() { return compute_type(kb_.b(), acc_); }
  // Accumulators in memory: booleans as bytes (0 or 1), whose `or` and `and` are theirs.
  Type acc_storage_type() { return acc_ == DType::Bool ? storage_type(kb_.b(), acc_) : acc_type(); }
  Value to_acc_storage(Value v) {
    if (acc_ != DType::Bool) return v;
    return arith::ExtUIOp::create(kb_.b(), kb_.shaped(acc_storage_type(), lanes_of(v)), v);
  }
  Value from_acc_storage(Value v) {
    if (acc_ != DType::Bool) return v;
    return arith::TruncIOp::create(kb_.b(), kb_.shaped(acc_type(), lanes_of(v)), v);
  }
  int passes() const { return s_.op == Red::LogSumExp ? 2 : 1; }

  CombiningKind kind(int pass) const {
    bool fl = is_float(acc_);
    bool uns = is_unsigned_int(acc_) || acc_ == DType::Bool;
    switch (s_.op) {
      case Red::Prod: return CombiningKind::MUL;
      case Red::Max:
        if (acc_ == DType::Bool) return CombiningKind::OR;
        return fl ? CombiningKind::MAXIMUMF : uns ? CombiningKind::MAXUI : CombiningKind::MAXSI;
      case Red::Min:
        if (acc_ == DType::Bool) return CombiningKind::AND;
        return fl ? CombiningKind::MINIMUMF : uns ? CombiningKind::MINUI : CombiningKind::MINSI;
      // The reference's running maximum skips NaN (std::max), as maxnum does.
      case Red::LogSumExp: return pass == 0 ? CombiningKind::MAXNUMF : CombiningKind::ADD;
      default: return CombiningKind::ADD;
    }
  }

  // The identity of pass `pass`, as a vector of `lanes` (or a scalar for 0).
  Value identity(int pass, int64_t lanes) {
    Type t = kb_.shaped(acc_type(), lanes);
    Type elem = acc_type();
    switch (kind(pass)) {
      case CombiningKind::MUL: return kb_.constant(t, 1);
      case CombiningKind::AND: return kb_.constant_attr(t, kb_.b().getIntegerAttr(elem, 1));
      case CombiningKind::MAXIMUMF:
      case CombiningKind::MAXNUMF: return kb_.constant(t, -INFINITY);
      case CombiningKind::MINIMUMF: return kb_.constant(t, INFINITY);
      case CombiningKind::MAXSI:
        return kb_.constant_attr(t, kb_.b().getIntegerAttr(elem, APInt::getSignedMinValue(elem.getIntOrFloatBitWidth())));
      case CombiningKind::MINSI:
        return kb_.constant_attr(t, kb_.b().getIntegerAttr(elem, APInt::getSignedMaxValue(elem.getIntOrFloatBitWidth())));
      case CombiningKind::MINUI:
        return kb_.constant_attr(t, kb_.b().getIntegerAttr(elem, APInt::getMaxValue(elem.getIntOrFloatBitWidth())));
      default: return kb_.constant(t, 0);  // ADD, MAXUI, OR
    }
  }

  // The accumulator in storage (acc_storage_type) combined with the stored element x: the step
  // of a scheduled accumulation.
  Value stored_step(int pass, Value acc, Value x, Value m) {
    if (acc_ == DType::Bool) return combine(kb_, kind(pass), acc, x);
    return step(pass, acc, from_storage(kb_.b(), kb_.b().getLoc(), x, s_.dt), m);
  }

  // acc combined with x's contribution (x in the compute type of the input dtype). `m` is the
  // first pass's maximum (broadcast like x) in LogSumExp's second pass.
  Value step(int pass, Value acc, const TypedValue& x, Value m) {
    auto& B = kb_.b();
    Value a = convert_to(B, B.getLoc(), x, acc_);
    switch (s_.op) {
      case Red::SumSquare:
      case Red::L2: a = combine(kb_, CombiningKind::MUL, a, a); break;
      case Red::L1:
        if (is_float(acc_)) a = math::AbsFOp::create(B, a);
        // max(a, -a): math.absi has no lowering for the 2-d vectors of a scheduled step.
        else if (!is_unsigned_int(acc_))
          a = arith::MaxSIOp::create(B, a, arith::SubIOp::create(B, kb_.constant(a.getType(), 0), a));
        break;
      case Red::LogSumExp:
        if (pass == 1) a = math::ExpOp::create(B, arith::SubFOp::create(B, a, m));
        break;
      default: break;
    }
    return combine(kb_, kind(pass), acc, a);
  }

  // The output (compute type of the input dtype) from the final accumulator of the last pass
  // (`m`: LogSumExp's maximum), over `count` elements (index).
  TypedValue finish(Value acc, Value m, Value count) {
    auto& B = kb_.b();
    Location loc = B.getLoc();
    Type t = acc.getType();
    int64_t lanes = lanes_of(acc);
    auto to_out = [&](Value v, DType from) { return TypedValue{convert_to(B, loc, {v, from}, s_.dt), s_.dt}; };
    switch (s_.op) {
      case Red::Mean: {
        Value c64 = arith::IndexCastOp::create(B, B.getI64Type(), count);
        if (is_float(acc_)) {
          Value c = arith::SIToFPOp::create(B, acc_type(), c64);
          return to_out(arith::DivFOp::create(B, acc, kb_.broadcast(c, lanes)), acc_);
        }
        // Integer mean of nothing is 0 (the reference does not divide).
        Value c = kb_.broadcast(arith::MaxSIOp::create(B, c64, arith::ConstantIntOp::create(B, 1, 64)), lanes);
        Value q = is_unsigned_int(acc_) ? Value(arith::DivUIOp::create(B, acc, c))
                                         : Value(arith::DivSIOp::create(B, acc, c));
        return to_out(q, acc_);
      }
      case Red::L2:
      case Red::LogSum: {
        Value r = acc;
        if (!is_float(acc_)) r = convert_to(B, loc, {acc, acc_}, DType::F64);
        r = s_.op == Red::L2 ? Value(math::SqrtOp::create(B, r)) : Value(math::LogOp::create(B, r));
        if (!is_float(acc_)) r = convert_to(B, loc, {r, DType::F64}, acc_);
        return to_out(r, acc_);
      }
      case Red::LogSumExp: {
        // An infinite maximum (empty group, all -inf, some +inf) is the result itself.
        // (math.isinf has no lowering to LLVM in MLIR 22.)
        Value inf = arith::CmpFOp::create(B, arith::CmpFPredicate::OEQ, math::AbsFOp::create(B, m),
                                          kb_.constant(m.getType(), INFINITY));
        Value r = kb_.select(inf, m, arith::AddFOp::create(B, m, math::LogOp::create(B, acc)));
        if (!is_float(s_.dt)) r = convert_to(B, loc, {r, DType::F64}, is_unsigned_int(s_.dt) ? DType::U64 : DType::I64);
        return to_out(r, is_float(s_.dt) ? acc_ : is_unsigned_int(s_.dt) ? DType::U64 : DType::I64);
      }
      case Red::Max:
      case Red::Min: {
        // The reference starts integer extremes from the 64-bit accumulator's lowest (highest)
        // value and wraps that to the element type: an empty group of a narrower signed type
        // gives 0 (max) or -1 (min).
        unsigned bits = getElementTypeOrSelf(t).getIntOrFloatBitWidth();
        if (is_integer(acc_) && !is_unsigned_int(acc_) && bits < 64) {
          Value empty = arith::CmpIOp::create(B, arith::CmpIPredicate::eq, count, kb_.index(0));
          if (lanes) empty = kb_.broadcast(empty, lanes);
          acc = kb_.select(empty, kb_.constant(t, s_.op == Red::Max ? 0 : -1), acc);
        }
        return to_out(acc, acc_);
      }
      default: return to_out(acc, acc_);
    }
  }

 private:
  KernelBuilder& kb_;
  const ReduceSpec& s_;
  DType acc_;
};

// The value of `d` as a size or stride of a view.
OpFoldResult fold_dim(KernelBuilder& kb, const Dim& d) {
  if (d.is_const()) return kb.b().getIndexAttr(d.value());
  return kb.dim(d);
}

// Reduces x[base + i], i in [0, len), into acc[0, width): element i into acc[i mod width].
// Whole blocks of `width` as the steps of one accumulation, the rest as a last, narrower one.
void accumulate_row(KernelBuilder& kb, Accumulator& acc, Value x, Value base, const Dim& len,
                    int64_t width, const Accumulator::Step& step) {
  auto& B = kb.b();
  OpFoldResult w = B.getIndexAttr(width);
  OpFoldResult steps, tail;
  if (len.is_const()) {
    steps = B.getIndexAttr(len.value() / width);
    tail = B.getIndexAttr(len.value() % width);
  } else {
    Value n = kb.dim(len);
    steps = kb.div(n, kb.index(width));
    tail = kb.rem(n, kb.index(width));
  }
  if (!(len.is_const() && len.value() < width)) acc.accumulate({x, base, steps, w, w}, {}, step);
  if (len.is_const() && len.value() % width == 0) return;
  Value done = kb.mul(getValueOrCreateConstantIndexOp(B, B.getLoc(), steps), kb.index(width));
  acc.accumulate({x, kb.add(base, done), B.getIndexAttr(1), w, tail}, {}, step);
}

struct Layout {
  std::vector<Group> kept;     // in order; for the column schedule, without the last one
  std::vector<Group> reduced;  // in order
  Dim inner = Dim(1);          // column schedule: the last (kept, contiguous) group's size
  bool columns = false;
  Dim outer = Dim(1);          // product of `kept` sizes
  Dim count = Dim(1);          // elements per group
};

Layout layout_of(const ReduceSpec& s, const Shape& in) {
  Layout l;
  std::vector<Group> g = groups_of(in, s.reduced);
  l.columns = !g.back().reduced;
  for (size_t i = 0; i < g.size(); ++i) {
    if (l.columns && i + 1 == g.size()) {
      l.inner = g[i].size;
    } else if (g[i].reduced) {
      l.reduced.push_back(g[i]);
      l.count = l.count * g[i].size;
    } else {
      l.kept.push_back(g[i]);
      l.outer = l.outer * g[i].size;
    }
  }
  return l;
}

// The input offset of output row `o` (a flat index over the kept groups).
Value kept_offset(KernelBuilder& kb, const std::vector<Group>& kept, Value o) {
  Value base = kb.index(0);
  Value rest = o;
  for (size_t i = kept.size(); i-- > 0;) {
    Value idx = i == 0 ? rest : kb.rem(rest, kb.dim(kept[i].size));
    if (i > 0) rest = kb.div(rest, kb.dim(kept[i].size));
    base = kb.add(base, kb.mul(idx, kb.dim(kept[i].stride)));
  }
  return base;
}

// Calls body(offset) for every combination of reduced groups [from, end) (offset relative to
// `base`), threading `accs` through.
SmallVector<Value> over_reduced(KernelBuilder& kb, const std::vector<Group>& groups, size_t from,
                                size_t end, Value base, SmallVector<Value> accs,
                                const std::function<SmallVector<Value>(Value, ValueRange)>& body) {
  if (from == end) return body(base, accs);
  const Group& g = groups[from];
  return kb.loop(kb.index(0), kb.dim(g.size), kb.index(1), accs, [&](Value i, ValueRange a) {
    return over_reduced(kb, groups, from + 1, end, kb.add(base, kb.mul(i, kb.dim(g.stride))),
                        SmallVector<Value>(a), body);
  });
}

// ---------------------------------------------------------------- ArgMax, ArgMin

// Whether v replaces best, as the reference's scan: NaN counts as beyond every number; ties
// keep the first index, or move to the last with select_last_index.
Value arg_beats(KernelBuilder& kb, const ReduceSpec& s, const TypedValue& v, Value best) {
  auto& B = kb.b();
  bool is_max = s.op == Red::ArgMax;
  if (is_float(s.dt)) {
    auto pred = is_max ? (s.select_last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                       : (s.select_last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT);
    Value better = arith::CmpFOp::create(B, pred, v.v, best);
    Value v_nan = arith::CmpFOp::create(B, arith::CmpFPredicate::UNO, v.v, v.v);
    Value best_ok = arith::CmpFOp::create(B, arith::CmpFPredicate::ORD, best, best);
    // first: !nan(best) && (nan(v) || better); last: nan(v) || (!nan(best) && better)
    if (s.select_last) return arith::OrIOp::create(B, v_nan, arith::AndIOp::create(B, best_ok, better));
    return arith::AndIOp::create(B, best_ok, arith::OrIOp::create(B, v_nan, better));
  }
  bool u = is_unsigned_int(s.dt);
  arith::CmpIPredicate p;
  if (is_max) p = s.select_last ? (u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge)
                                : (u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt);
  else p = s.select_last ? (u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                         : (u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
  return arith::CmpIOp::create(B, p, v.v, best);
}

// ArgMax/ArgMin along a contiguous row: lane l scans elements l, l + lanes, ... keeping its
// best value and index (-1 until it sees one), then the lanes merge in order, ties going to
// the lower index (the higher with select_last_index) as the reference's scan would.
Value arg_row(KernelBuilder& kb, const ReduceSpec& s, Value in, Value base, const Dim& len) {
  auto& B = kb.b();
  Type ct = compute_type(B, s.dt), i64 = B.getI64Type();
  int64_t lanes = kb.lanes_for({storage_type(B, s.dt), ct, i64});
  auto it = VectorType::get({lanes}, i64);
  SmallVector<int64_t> iota_v;
  for (int64_t l = 0; l < lanes; ++l) iota_v.push_back(l);
  Value iota = arith::ConstantOp::create(B, DenseElementsAttr::get(it, ArrayRef<int64_t>(iota_v)));
  // Across lanes (and sets) the indices interleave: equal values (and two NaNs) go by index.
  bool fl = is_float(s.dt), is_max = s.op == Red::ArgMax, uns = is_unsigned_int(s.dt);
  auto before = [&](Value ia, Value ib) {
    return arith::CmpIOp::create(B, s.select_last ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt, ia, ib);
  };
  auto better = [&](Value a, Value ia, Value b, Value ib) -> Value {
    Value tie = before(ia, ib);
    if (!fl) {
      auto p = is_max ? (uns ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                      : (uns ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt);
      Value gt = arith::CmpIOp::create(B, p, a, b);
      Value eq = arith::CmpIOp::create(B, arith::CmpIPredicate::eq, a, b);
      return arith::OrIOp::create(B, gt, arith::AndIOp::create(B, eq, tie));
    }
    Value na = arith::CmpFOp::create(B, arith::CmpFPredicate::UNO, a, a);
    Value nb = arith::CmpFOp::create(B, arith::CmpFPredicate::UNO, b, b);
    Value gt = arith::CmpFOp::create(B, is_max ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, a, b);
    Value eq = arith::CmpFOp::create(B, arith::CmpFPredicate::OEQ, a, b);
    // Both NaN or equal: by index; a NaN beats a number; otherwise by value.
    Value same = arith::OrIOp::create(B, arith::AndIOp::create(B, na, nb), eq);
    Value by_value = arith::OrIOp::create(B, arith::AndIOp::create(B, na, arith::XOrIOp::create(B, nb, kb.constant(nb.getType(), 1))), gt);
    return arith::OrIOp::create(B, arith::AndIOp::create(B, same, tie),
                                arith::AndIOp::create(B, arith::XOrIOp::create(B, same, kb.constant(same.getType(), 1)), by_value));
  };
  Value none = kb.constant(it, -1);
  Value zero = kb.constant(VectorType::get({lanes}, ct), 0);
  // Two sets of lanes on long rows hide the latency of the select chain.
  int64_t unroll = len.is_const() && len.value() < 4 * lanes ? 1 : 2;
  SmallVector<Value> best = vector_run(
      kb, len, lanes, unroll, {zero, none}, {zero, none},
      [&](ValueRange a, Value i, Value mask) {
        TypedValue v = kb.load_compute(in, kb.add(base, i), lanes, s.dt, mask);
        Value fresh = arith::CmpIOp::create(B, arith::CmpIPredicate::eq, a[1], none);
        Value beats = arith::OrIOp::create(B, fresh, arg_beats(kb, s, v, a[0]));
        Value pos = arith::AddIOp::create(B, kb.broadcast(arith::IndexCastOp::create(B, i64, i), lanes), iota);
        return SmallVector<Value>{kb.select(beats, v.v, a[0]), kb.select(beats, pos, a[1])};
      },
      [&](ValueRange a, ValueRange b) {
        Value seen = arith::CmpIOp::create(B, arith::CmpIPredicate::ne, b[1], none);
        Value unseen_a = arith::CmpIOp::create(B, arith::CmpIPredicate::eq, a[1], none);
        Value take = arith::AndIOp::create(B, seen, arith::OrIOp::create(B, unseen_a, better(b[0], b[1], a[0], a[1])));
        return SmallVector<Value>{kb.select(take, b[0], a[0]), kb.select(take, b[1], a[1])};
      });
  Value bv = vector::ExtractOp::create(B, best[0], ArrayRef<int64_t>{0});
  Value bi = vector::ExtractOp::create(B, best[1], ArrayRef<int64_t>{0});
  Value minus1 = arith::ConstantIntOp::create(B, -1, 64);
  for (int64_t l = 1; l < lanes; ++l) {
    Value v = vector::ExtractOp::create(B, best[0], ArrayRef<int64_t>{l});
    Value i = vector::ExtractOp::create(B, best[1], ArrayRef<int64_t>{l});
    Value seen = arith::CmpIOp::create(B, arith::CmpIPredicate::ne, i, minus1);
    Value take = arith::AndIOp::create(B, seen, better(v, i, bv, bi));
    bv = kb.select(take, v, bv);
    bi = kb.select(take, i, bi);
  }
  return bi;
}

// ---------------------------------------------------------------- kernels

constexpr int64_t kUnroll = 4;

void lower_rows(KernelBuilder& kb, const ReduceSpec& s, const Layout& l, const FusedEpilogue& epi,
                Value in, Value out, DType out_dt, Dim* tiles) {
  Reducer r(kb, s);
  auto& B = kb.b();
  Type st = storage_type(B, s.dt);
  const Group& last = l.reduced.back();
  *tiles = row_tiles(l.outer, l.count);
  int64_t lanes = kb.lanes_for({st, r.acc_type()});
  bool long_rows = !last.size.is_const() || last.size.value() >= kUnroll * lanes;
  int64_t unroll = long_rows ? kUnroll : 1;
  std::optional<Accumulator> acc;
  if (!is_arg(s.op)) acc.emplace(kb, r.acc_storage_type(), unroll, lanes);
  RowRange rows = tile_row_range(kb, l.outer, *tiles);
  kb.loop(rows.begin, rows.end, kb.index(1), [&](Value o) {
    Value base = kept_offset(kb, l.kept, o);
    TypedValue res;
    if (is_arg(s.op)) {
      res = {arg_row(kb, s, in, base, last.size), DType::I64};
    } else {
      Value total, m;  // m: LogSumExp's maximum, for its second pass
      for (int pass = 0; pass < r.passes(); ++pass) {
        acc->set(SmallVector<Value>(size_t(unroll), r.to_acc_storage(r.identity(pass, lanes))));
        over_reduced(kb, l.reduced, 0, l.reduced.size() - 1, base, {}, [&](Value off, ValueRange) {
          accumulate_row(kb, *acc, in, off, last.size, unroll * lanes, [&](Value x, ValueRange, Value a) {
            return r.stored_step(pass, a, x, m);
          });
          return SmallVector<Value>{};
        });
        SmallVector<Value> parts = acc->get();
        Value v = r.from_acc_storage(parts[0]);
        for (size_t u = 1; u < parts.size(); ++u) v = combine(kb, r.kind(pass), v, r.from_acc_storage(parts[u]));
        total = horizontal(kb, r.kind(pass), v);
        if (pass + 1 < r.passes()) m = total;
      }
      res = r.finish(total, m, kb.dim(l.count));
    }
    TypedValue y = epi.apply(kb, res, o, {}, {});
    kb.store_compute({convert_to(B, B.getLoc(), y, out_dt), out_dt}, out, o);
  });
}

void lower_columns(KernelBuilder& kb, const ReduceSpec& s, const Layout& l, const FusedEpilogue& epi,
                   Value in, Value out, DType out_dt, Dim* tiles) {
  Reducer r(kb, s);
  auto& B = kb.b();
  Type st = storage_type(B, s.dt);
  Type acc_t = is_arg(s.op) ? compute_type(B, s.dt) : r.acc_type();
  ColumnBlocks cb = column_blocks(l.outer, l.inner, kb.lanes_for({st, acc_t, is_arg(s.op) ? B.getI64Type() : acc_t}));
  int64_t lanes = cb.lanes, unroll = cb.vectors;
  Value inner = kb.dim(l.inner);
  std::vector<std::unique_ptr<Accumulator>> accs;  // one per pass
  if (!is_arg(s.op))
    for (int pass = 0; pass < r.passes(); ++pass)
      accs.push_back(std::make_unique<Accumulator>(kb, r.acc_storage_type(), unroll, lanes));
  *tiles = for_column_tiles(kb, cb, l.count * Dim(cb.block()), [&](const ColumnTile& tile) {
    Value o = tile.row, j0 = tile.col;
    const SmallVector<Value>& masks = tile.masks;
    Value base = kb.add(kept_offset(kb, l.kept, o), j0);
    auto load = [&](Value off, int64_t u) {
      return kb.load_compute(in, kb.add(off, kb.index(u * lanes)), lanes, s.dt, masks[u]);
    };
    SmallVector<Value> results;
    if (is_arg(s.op)) {
      // The first element of the axis starts the scan; then elements 1.. of the one reduced group.
      const Group& g = l.reduced.back();
      SmallVector<Value> inits;
      for (int64_t u = 0; u < unroll; ++u) inits.push_back(load(base, u).v);
      for (int64_t u = 0; u < unroll; ++u) inits.push_back(kb.constant(VectorType::get({lanes}, B.getI64Type()), 0));
      SmallVector<Value> best = kb.loop(kb.index(1), kb.dim(g.size), kb.index(1), inits, [&](Value i, ValueRange a) {
        Value off = kb.add(base, kb.mul(i, kb.dim(g.stride)));
        Value idx = kb.broadcast(arith::IndexCastOp::create(B, B.getI64Type(), i), lanes);
        SmallVector<Value> vals, idxs;
        for (int64_t u = 0; u < unroll; ++u) {
          TypedValue v = load(off, u);
          Value beats = arg_beats(kb, s, v, a[u]);
          vals.push_back(kb.select(beats, v.v, a[u]));
          idxs.push_back(kb.select(beats, idx, a[unroll + u]));
        }
        vals.append(idxs);
        return vals;
      });
      for (int64_t u = 0; u < unroll; ++u) results.push_back(best[unroll + u]);
    } else {
      // The block's columns: all of the block, or the row's last, narrower, block.
      auto over_columns = [&](const std::function<void(OpFoldResult)>& run) {
        int64_t width = cb.block();
        if (!cb.masked) return run(B.getIndexAttr(width));
        if (l.inner.is_const() && l.inner.value() < width) return run(B.getIndexAttr(l.inner.value()));
        OpFoldResult tail = l.inner.is_const() ? OpFoldResult(B.getIndexAttr(l.inner.value() % width))
                                               : OpFoldResult(kb.sub(inner, j0));
        kb.if_else(kb.lt(kb.add(j0, kb.index(width)), kb.add(inner, kb.index(1))), {},
                   [&] { run(B.getIndexAttr(width)); return SmallVector<Value>{}; },
                   [&] { run(tail); return SmallVector<Value>{}; });
      };
      const Group& g = l.reduced.back();
      for (int pass = 0; pass < r.passes(); ++pass) {
        Accumulator& acc = *accs[size_t(pass)];
        acc.set(SmallVector<Value>(size_t(unroll), r.to_acc_storage(r.identity(pass, lanes))));
        over_columns([&](OpFoldResult w) {
          SmallVector<const Accumulator*> maxima;
          if (pass > 0) maxima.push_back(accs[0].get());
          over_reduced(kb, l.reduced, 0, l.reduced.size() - 1, base, {}, [&](Value off, ValueRange) {
            acc.accumulate({in, off, fold_dim(kb, g.size), fold_dim(kb, g.stride), w}, maxima,
                           [&](Value x, ValueRange m, Value a) {
                             return r.stored_step(pass, a, x, m.empty() ? Value() : m[0]);
                           });
            return SmallVector<Value>{};
          });
        });
      }
      SmallVector<Value> sums = accs.back()->get(), maxima;
      if (r.passes() > 1) maxima = accs[0]->get();
      for (int64_t u = 0; u < unroll; ++u)
        results.push_back(r.finish(r.from_acc_storage(sums[size_t(u)]),
                                   maxima.empty() ? Value() : maxima[size_t(u)], kb.dim(l.count)).v);
    }
    Value out_base = kb.add(kb.mul(o, inner), j0);
    for (int64_t u = 0; u < unroll; ++u) {
      Value off = kb.add(out_base, kb.index(u * lanes));
      DType rt = is_arg(s.op) ? DType::I64 : s.dt;
      TypedValue y = epi.apply(kb, {results[u], rt}, off, {}, masks[u]);
      kb.store_compute({convert_to(B, B.getLoc(), y, out_dt), out_dt}, out, off, masks[u]);
    }
  });
}

// noop_with_empty_axes: the input itself (and the fused consumers).
void lower_copy(KernelBuilder& kb, const ReduceSpec& s, const Shape& shape, const FusedEpilogue& epi,
                Value in, Value out, DType out_dt, Dim* tiles) {
  auto& B = kb.b();
  int64_t lanes = kb.lanes_for({storage_type(B, s.dt), compute_type(B, s.dt)});
  int64_t block = 1024 / lanes * lanes;
  Dim n = shape.numel();
  Dim blocks = Dim::ceildiv(n, Dim(block));
  *tiles = row_tiles(blocks, Dim(block));
  RowRange range = tile_row_range(kb, blocks, *tiles);
  Value total = kb.dim(n);
  kb.loop(range.begin, range.end, kb.index(1), [&](Value t) {
    Value b0 = kb.mul(t, kb.index(block));
    Value end = kb.min(kb.add(b0, kb.index(block)), total);
    kb.loop(b0, end, kb.index(lanes), [&](Value i) {
      Value mask = kb.mask(lanes, kb.sub(end, i));
      TypedValue y = epi.apply(kb, kb.load_compute(in, i, lanes, s.dt, mask), i, {}, mask);
      kb.store_compute({convert_to(B, B.getLoc(), y, out_dt), out_dt}, out, i, mask);
    });
  });
}

}  // namespace

bool lowers_reduction(const Node& n) { return analyze(n).has_value(); }

bool reduction_fuses(const Node& anchor, const Node& consumer) {
  if (!lowers_elementwise(consumer)) return false;
  const Shape& out = anchor.output(0)->shape();
  for (const eave::Value* v : consumer.inputs())
    if (v && !FusedEpilogue::operand_ok(v, out, nullptr)) return false;
  return true;
}

LoweredKernel lower_reduction(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& n = *d.anchor();
  ReduceSpec s = *analyze(n);
  const eave::Value* x = n.input(0);
  EAVE_CHECK(d.outputs.size() == 1, n.describe(), ": a reduction kernel has ", d.outputs.size(),
             " results; expected one");
  const eave::Value* y = d.outputs[0];
  FusedEpilogue epi(d, nullptr);
  std::vector<const eave::Value*> operands = {x};
  operands.insert(operands.end(), epi.operands().begin(), epi.operands().end());
  operands.push_back(y);
  KernelBuilder kb(lc, name, operands);
  std::vector<Value> epi_bufs;
  for (size_t i = 0; i < epi.operands().size(); ++i) epi_bufs.push_back(kb.buffer(1 + i));
  epi.bind(epi_bufs);
  Value in = kb.buffer(0), out = kb.buffer(operands.size() - 1);
  Dim tiles;
  if (s.noop) {
    lower_copy(kb, s, x->shape(), epi, in, out, y->dtype(), &tiles);
  } else {
    Layout l = layout_of(s, x->shape());
    if (l.columns) lower_columns(kb, s, l, epi, in, out, y->dtype(), &tiles);
    else lower_rows(kb, s, l, epi, in, out, y->dtype(), &tiles);
  }
  return kb.finish(tiles);
}

}  // namespace eave::lowering
