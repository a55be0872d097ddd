// Lowering: normalizations. Softmax and LogSoftmax (coerced to 2-D before opset 13, one axis
// from 13), LayerNormalization, InstanceNormalization, GroupNormalization and the
// BatchNormalization (inference) that the graph passes leave, for the float dtypes; semantics
// from reference/normalization.cc.
//
// Each normalizes groups of elements. When a group is contiguous (a "row": Softmax along the
// last axis, every LayerNorm/InstanceNorm/GroupNorm/BatchNorm) a row is read with vectors
// along it, the statistics reduced horizontally, and the row written in a last pass; threads
// split the rows. Softmax along an inner axis walks that axis for blocks of contiguous columns
// instead, keeping per-column statistics in registers.
//
// Statistics take one pass over the row: sums of x - K and (x - K)^2, K being the row's first
// element. Shifting by an element of the row keeps the variance E[(x-K)^2] - E[x-K]^2 from
// cancelling the way E[x^2] - E[x]^2 does when the mean is large against the spread.
#include <algorithm>
#include <cmath>
#include <optional>

#include "lowering/kernel_builder.h"
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

bool float_dtype(DType t) {
  return t == DType::F16 || t == DType::BF16 || t == DType::F32 || t == DType::F64;
}

// The dtype whose compute type arithmetic on `t` uses (f16/bf16 compute in f32).
DType compute_dtype(DType t) { return t == DType::F64 ? DType::F64 : DType::F32; }

bool is_tensor(const eave::Value* v) {
  return v && v->type().is_tensor() && v->shape().has_rank();
}

// An optional output that nothing reads.
bool unused(const eave::Value* v) { return !v || (!v->has_uses() && !v->is_graph_output()); }

// ---------------------------------------------------------------- Softmax, LogSoftmax

struct SoftmaxSpec {
  bool log = false;
  DType dt = DType::F32;
  Dim outer, len, inner;  // X viewed as [outer, len, inner], normalized along len
};

std::optional<SoftmaxSpec> analyze_softmax(const Node& n) {
  if (n.kind() != OpKind::Softmax && n.kind() != OpKind::LogSoftmax) return std::nullopt;
  const eave::Value* x = n.input(0);
  if (!is_tensor(x) || !float_dtype(x->dtype()) || !is_tensor(n.output(0))) return std::nullopt;
  const Shape& s = x->shape();
  int64_t rank = int64_t(s.rank());
  SoftmaxSpec sp;
  sp.log = n.kind() == OpKind::LogSoftmax;
  sp.dt = x->dtype();
  if (n.opset() < 13) {
    // Rows of the 2-D coercion at `axis`; axis == rank is allowed (rows of one element).
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis > rank) return std::nullopt;
    sp.outer = dims_product(s, 0, size_t(axis));
    sp.len = dims_product(s, size_t(axis), size_t(rank));
    sp.inner = Dim(1);
  } else {
    int64_t axis = n.attr_int("axis", -1);
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return std::nullopt;
    sp.outer = dims_product(s, 0, size_t(axis));
    sp.len = s[size_t(axis)];
    sp.inner = dims_product(s, size_t(axis) + 1, size_t(rank));
  }
  return sp;
}

// ---------------------------------------------------------------- row normalizations

// Where the scale and bias of a row normalization come from.
enum class Params {
  Column,  // one per element of the row (LayerNorm), or one scalar for all
  Row,     // one per row: index row % period (InstanceNorm, GroupNorm-18, BatchNorm)
  Channel  // one per channel of the row: index (row % period) * channels + j / block_len
           // (GroupNorm-21)
};

struct NormSpec {
  OpKind kind;
  DType dt = DType::F32;     // X
  DType stats = DType::F32;  // the statistics' dtype (compute type: F32 or F64)
  Dim rows, len;             // X viewed as [rows, len], one row normalized at a time
  double eps = 1e-5;
  Params params = Params::Column;
  Dim period = Dim(1);
  int64_t channels = 1;      // Channel: channels per row
  Dim block_len = Dim(1);    // Channel: elements per channel
  bool scale_scalar = false, bias_scalar = false;  // Column: one value for the whole row
  bool has_bias = true;
  bool round_normalized = false;  // LayerNorm stores the normalized X as X's type first
  bool given_stats = false;       // BatchNorm: mean and variance are inputs
};

// A LayerNorm parameter: one scalar, or one value per element of the normalized row (leading
// 1s, then X's trailing dims).
std::optional<bool> column_param(const eave::Value* p, const Shape& x, const Dim& len) {
  if (!is_tensor(p)) return std::nullopt;
  if (p->shape().numel() == Dim(1)) return true;
  if (!FusedEpilogue::operand_ok(p, x, &len) || p->shape().numel() != len) return std::nullopt;
  return false;
}

std::optional<DType> stash_dtype(int64_t onnx) {
  switch (onnx) {
    case 1: case 10: case 16: return DType::F32;  // float, float16, bfloat16 compute in float
    case 11: return DType::F64;
    default: return std::nullopt;
  }
}

// Per-channel parameters of X [N, C, ...]: `count` values, of a float dtype.
bool channel_param(const eave::Value* p, const Dim& count) {
  return is_tensor(p) && float_dtype(p->dtype()) && p->shape().numel() == count;
}

std::optional<NormSpec> analyze_norm(const Node& n) {
  const eave::Value* x = n.input(0);
  if (!is_tensor(x) || !float_dtype(x->dtype()) || !is_tensor(n.output(0))) return std::nullopt;
  const Shape& s = x->shape();
  size_t rank = s.rank();
  NormSpec ns;
  ns.kind = n.kind();
  ns.dt = x->dtype();
  ns.stats = compute_dtype(ns.dt);
  ns.eps = n.attr_float("epsilon", 1e-5f);
  switch (n.kind()) {
    case OpKind::LayerNormalization: {
      if (rank < 1) return std::nullopt;
      int64_t axis = n.attr_int("axis", -1);
      if (axis < 0) axis += int64_t(rank);
      if (axis < 0 || axis >= int64_t(rank)) return std::nullopt;
      auto st = stash_dtype(n.attr_int("stash_type", 1));
      if (!st) return std::nullopt;
      ns.stats = *st;
      ns.rows = dims_product(s, 0, size_t(axis));
      ns.len = dims_product(s, size_t(axis), rank);
      const eave::Value* scale = n.input(1);
      const eave::Value* bias = n.input(2);
      auto sc = column_param(scale, s, ns.len);
      if (!sc || scale->dtype() != ns.dt) return std::nullopt;
      ns.scale_scalar = *sc;
      ns.has_bias = bias != nullptr;
      if (bias) {
        auto bs = column_param(bias, s, ns.len);
        if (!bs || bias->dtype() != ns.dt) return std::nullopt;
        ns.bias_scalar = *bs;
      }
      ns.params = Params::Column;
      ns.round_normalized = true;
      return ns;
    }
    case OpKind::InstanceNormalization: {
      if (rank < 2) return std::nullopt;
      ns.rows = s[0] * s[1];
      ns.len = dims_product(s, 2, rank);
      if (!channel_param(n.input(1), s[1]) || !channel_param(n.input(2), s[1])) return std::nullopt;
      ns.params = Params::Row;
      ns.period = s[1];
      return ns;
    }
    case OpKind::GroupNormalization: {
      if (rank < 2 || !s[1].is_const()) return std::nullopt;
      int64_t groups = n.attr_int("num_groups", 0);
      int64_t channels = s[1].value();
      if (groups <= 0 || channels % groups != 0) return std::nullopt;
      bool per_channel = n.opset() >= 21;
      if (per_channel) {
        auto st = stash_dtype(n.attr_int("stash_type", 1));
        if (!st) return std::nullopt;
        ns.stats = *st;
      }
      Dim count = per_channel ? Dim(channels) : Dim(groups);
      if (!channel_param(n.input(1), count) || !channel_param(n.input(2), count)) return std::nullopt;
      ns.rows = s[0] * Dim(groups);
      ns.block_len = dims_product(s, 2, rank);
      ns.channels = channels / groups;
      ns.len = Dim(ns.channels) * ns.block_len;
      ns.period = Dim(groups);
      ns.params = per_channel ? Params::Channel : Params::Row;
      return ns;
    }
    case OpKind::BatchNormalization: {
      if (rank < 2) return std::nullopt;
      bool spatial = n.opset() >= 9 || n.attr_int("spatial", 1) != 0;
      bool training = n.opset() >= 14 ? n.attr_int("training_mode", 0) != 0 : false;
      if (!spatial || training) return std::nullopt;
      for (size_t i = 1; i < n.num_outputs(); ++i)
        if (!unused(n.output(i))) return std::nullopt;
      for (size_t i = 1; i <= 4; ++i)
        if (!channel_param(n.input(i), s[1])) return std::nullopt;
      ns.rows = s[0] * s[1];
      ns.len = dims_product(s, 2, rank);
      ns.params = Params::Row;
      ns.period = s[1];
      ns.given_stats = true;
      return ns;
    }
    default: return std::nullopt;
  }
}

// The length of the rows an anchor normalizes, when it has rows (the Softmax along an inner
// axis has none): row operands of fused consumers line up with them.
std::optional<Dim> row_len_of(const Node& n) {
  if (auto s = analyze_softmax(n)) {
    if (s->inner == Dim(1)) return s->len;
    return std::nullopt;
  }
  if (auto s = analyze_norm(n)) return s->len;
  return std::nullopt;
}

// ---------------------------------------------------------------- helpers

Value hsum(KernelBuilder& kb, Value v) {
  return vector::ReductionOp::create(kb.b(), vector::CombiningKind::ADD, v, arith::FastMathFlags::reassoc);
}

Value to_float(KernelBuilder& kb, Value index, Type t) {
  Value i = arith::IndexCastOp::create(kb.b(), kb.b().getI64Type(), index);
  return arith::SIToFPOp::create(kb.b(), t, i);
}

TypedValue convert(KernelBuilder& kb, const TypedValue& v, DType to) {
  return {convert_to(kb.b(), kb.b().getLoc(), v, to), to};
}

void store_result(KernelBuilder& kb, const TypedValue& y, DType out_dt, Value out, Value off, Value mask) {
  kb.store_compute(convert(kb, y, out_dt), out, off, mask);
}

// ---------------------------------------------------------------- Softmax kernels

constexpr int64_t kUnroll = 4;

Value exp_shifted(KernelBuilder& kb, Value x, Value m) {
  return math::ExpOp::create(kb.b(), arith::SubFOp::create(kb.b(), x, m));
}

void softmax_rows(KernelBuilder& kb, const SoftmaxSpec& s, const FusedEpilogue& epi, Value in,
                  Value out, DType out_dt, Dim* tiles) {
  auto& B = kb.b();
  DType cd = compute_dtype(s.dt);
  Type ct = compute_type(B, s.dt);
  int64_t lanes = kb.lanes_for({ct});
  auto vt = VectorType::get({lanes}, ct);
  bool long_rows = !s.len.is_const() || s.len.value() >= kUnroll * lanes;
  int64_t unroll = long_rows ? kUnroll : 1;
  // Softmax keeps exp(x - max) in the output between passes when it holds them exactly.
  bool keep_exp = !s.log && s.dt == cd && epi.empty();
  *tiles = row_tiles(s.outer, s.len * Dim(3));
  RowRange rows = tile_row_range(kb, s.outer, *tiles);
  Value len = kb.dim(s.len);
  kb.loop(rows.begin, rows.end, kb.index(1), [&](Value row) {
    Value base = kb.mul(row, len);
    auto x_at = [&](Value i, Value mask) { return kb.load_compute(in, kb.add(base, i), lanes, s.dt, mask).v; };
    Value ninf = kb.constant(vt, -INFINITY), zero = kb.constant(vt, 0);
    // The reference's maximum skips NaN (std::max); maxnum does the same.
    Value m = vector_run(
        kb, s.len, lanes, unroll, {ninf}, {ninf},
        [&](ValueRange a, Value i, Value mask) {
          return SmallVector<Value>{arith::MaxNumFOp::create(B, a[0], x_at(i, mask))};
        },
        [&](ValueRange a, ValueRange b) { return SmallVector<Value>{arith::MaxNumFOp::create(B, a[0], b[0])}; })[0];
    m = vector::ReductionOp::create(B, vector::CombiningKind::MAXNUMF, m);
    Value mv = kb.broadcast(m, lanes);
    Value sum = vector_run(
        kb, s.len, lanes, unroll, {zero}, {zero},
        [&](ValueRange a, Value i, Value mask) {
          Value e = exp_shifted(kb, x_at(i, mask), mv);
          if (keep_exp) kb.store(e, out, kb.add(base, i), mask);
          return SmallVector<Value>{arith::AddFOp::create(B, a[0], e)};
        },
        [&](ValueRange a, ValueRange b) { return SmallVector<Value>{arith::AddFOp::create(B, a[0], b[0])}; })[0];
    sum = hsum(kb, sum);
    Value factor = s.log ? Value(math::LogOp::create(B, sum))
                         : Value(arith::DivFOp::create(B, kb.constant(ct, 1), sum));
    Value fv = kb.broadcast(factor, lanes);
    vector_run(kb, s.len, lanes, 1, {}, {}, [&](ValueRange, Value i, Value mask) {
      Value off = kb.add(base, i);
      Value y;
      if (s.log) {
        y = arith::SubFOp::create(B, arith::SubFOp::create(B, x_at(i, mask), mv), fv);
      } else {
        Value e = keep_exp ? kb.load(out, off, lanes, mask) : exp_shifted(kb, x_at(i, mask), mv);
        y = arith::MulFOp::create(B, e, fv);
      }
      store_result(kb, epi.apply(kb, {y, s.dt}, off, i, mask), out_dt, out, off, mask);
      return SmallVector<Value>{};
    });
  });
}

void softmax_columns(KernelBuilder& kb, const SoftmaxSpec& s, const FusedEpilogue& epi, Value in,
                     Value out, DType out_dt, Dim* tiles) {
  auto& B = kb.b();
  Type ct = compute_type(B, s.dt);
  ColumnBlocks cb = column_blocks(s.outer, s.inner, kb.lanes_for({ct}));
  int64_t lanes = cb.lanes, unroll = cb.vectors;
  auto vt = VectorType::get({lanes}, ct);
  Value inner = kb.dim(s.inner), len = kb.dim(s.len);
  *tiles = for_column_tiles(kb, cb, s.len * Dim(3 * cb.block()), [&](const ColumnTile& tile) {
    Value base = kb.add(kb.mul(tile.row, kb.mul(len, inner)), tile.col);
    const SmallVector<Value>& masks = tile.masks;
    auto off_of = [&](Value r, int64_t u) { return kb.add(kb.add(base, kb.mul(r, inner)), kb.index(u * lanes)); };
    auto x_at = [&](Value r, int64_t u) { return kb.load_compute(in, off_of(r, u), lanes, s.dt, masks[u]).v; };
    auto over_axis = [&](SmallVector<Value> inits, const std::function<Value(Value, Value, int64_t)>& f) {
      return kb.loop(kb.index(0), len, kb.index(1), inits, [&](Value r, ValueRange a) {
        SmallVector<Value> next;
        for (int64_t u = 0; u < unroll; ++u) next.push_back(f(a[u], r, u));
        return next;
      });
    };
    SmallVector<Value> m = over_axis(SmallVector<Value>(size_t(unroll), kb.constant(vt, -INFINITY)),
                                     [&](Value a, Value r, int64_t u) -> Value {
                                       return arith::MaxNumFOp::create(B, a, x_at(r, u));
                                     });
    SmallVector<Value> sum = over_axis(SmallVector<Value>(size_t(unroll), kb.constant(vt, 0)),
                                       [&](Value a, Value r, int64_t u) -> Value {
                                         return arith::AddFOp::create(B, a, exp_shifted(kb, x_at(r, u), m[u]));
                                       });
    SmallVector<Value> factor;
    for (int64_t u = 0; u < unroll; ++u)
      factor.push_back(s.log ? Value(math::LogOp::create(B, sum[u]))
                             : Value(arith::DivFOp::create(B, kb.constant(vt, 1), sum[u])));
    kb.loop(kb.index(0), len, kb.index(1), [&](Value r) {
      for (int64_t u = 0; u < unroll; ++u) {
        Value x = x_at(r, u);
        Value y = s.log ? Value(arith::SubFOp::create(B, arith::SubFOp::create(B, x, m[u]), factor[u]))
                        : Value(arith::MulFOp::create(B, exp_shifted(kb, x, m[u]), factor[u]));
        Value off = off_of(r, u);
        store_result(kb, epi.apply(kb, {y, s.dt}, off, {}, masks[u]), out_dt, out, off, masks[u]);
      }
    });
  });
}

// ---------------------------------------------------------------- row normalization kernel

struct NormOperands {
  const eave::Value *scale = nullptr, *bias = nullptr, *mean = nullptr, *var = nullptr;
  Value x, scale_buf, bias_buf, mean_buf, var_buf;
  Value out;                         // null when Y is not needed
  Value mean_out, inv_std_out;       // LayerNorm's optional outputs, null when not needed
  DType out_dt = DType::F32, mean_dt = DType::F32, inv_std_dt = DType::F32;
};

void norm_rows(KernelBuilder& kb, const NormSpec& ns, const NormOperands& p, const FusedEpilogue& epi,
               Dim* tiles) {
  auto& B = kb.b();
  Location loc = B.getLoc();
  DType cd = compute_dtype(ns.dt);
  Type st = compute_type(B, ns.stats);
  int64_t lanes = kb.lanes_for({compute_type(B, ns.dt), st});
  auto svt = VectorType::get({lanes}, st);
  *tiles = row_tiles(ns.rows, ns.len * Dim(2));
  RowRange rows = tile_row_range(kb, ns.rows, *tiles);
  Value len = kb.dim(ns.len);
  // A per-row or per-channel parameter at `idx`, in X's compute type.
  auto param = [&](Value buf, const eave::Value* v, Value idx, DType to) {
    return convert(kb, kb.load_compute(buf, idx, 0, v->dtype()), to).v;
  };
  auto inverse_std = [&](Value var) -> Value {
    return arith::DivFOp::create(
        B, kb.constant(st, 1), math::SqrtOp::create(B, arith::AddFOp::create(B, var, kb.constant(st, ns.eps))));
  };
  auto row_body = [&](Value row) {
    Value base = kb.mul(row, len);
    Value mean, inv_std;  // scalars, in the statistics' type
    if (ns.given_stats) {
      Value c = kb.rem(row, kb.dim(ns.period));
      mean = param(p.mean_buf, p.mean, c, ns.stats);
      inv_std = inverse_std(param(p.var_buf, p.var, c, ns.stats));
    } else {
      // Sums of d = x - K, K the row's first element.
      Value k = convert(kb, kb.load_compute(p.x, base, 0, ns.dt), ns.stats).v;
      Value kv = kb.broadcast(k, lanes);
      Value zero = kb.constant(svt, 0);
      bool long_rows = !ns.len.is_const() || ns.len.value() >= 2 * lanes;
      SmallVector<Value> sums = vector_run(
          kb, ns.len, lanes, long_rows ? 2 : 1, {zero, zero}, {zero, zero},
          [&](ValueRange a, Value i, Value mask) {
            Value x = convert(kb, kb.load_compute(p.x, kb.add(base, i), lanes, ns.dt, mask), ns.stats).v;
            Value d = arith::SubFOp::create(B, x, kv);
            return SmallVector<Value>{arith::AddFOp::create(B, a[0], d),
                                      arith::AddFOp::create(B, a[1], arith::MulFOp::create(B, d, d))};
          },
          [&](ValueRange a, ValueRange b) {
            return SmallVector<Value>{arith::AddFOp::create(B, a[0], b[0]), arith::AddFOp::create(B, a[1], b[1])};
          });
      Value n = to_float(kb, len, st);
      Value shift = arith::DivFOp::create(B, hsum(kb, sums[0]), n);
      Value sq = arith::DivFOp::create(B, hsum(kb, sums[1]), n);
      mean = arith::AddFOp::create(B, k, shift);
      Value var = arith::MaximumFOp::create(B, arith::SubFOp::create(B, sq, arith::MulFOp::create(B, shift, shift)),
                                            kb.constant(st, 0));
      inv_std = inverse_std(var);
    }
    if (p.mean_out) kb.store_compute(convert(kb, {mean, ns.stats}, p.mean_dt), p.mean_out, row);
    if (p.inv_std_out) kb.store_compute(convert(kb, {inv_std, ns.stats}, p.inv_std_dt), p.inv_std_out, row);
    if (!p.out) return;
    Value mean_v = kb.broadcast(mean, lanes), inv_v = kb.broadcast(inv_std, lanes);
    // Elements [from, from + count) of the row; sc and bi are the scalar parameters, or null
    // for per-column ones.
    auto write = [&](Value from, const Dim& count, Value sc, Value bi) {
      vector_run(kb, count, lanes, 1, {}, {}, [&](ValueRange, Value i, Value mask) {
        Value col = kb.add(from, i);
        Value off = kb.add(base, col);
        Value x = convert(kb, kb.load_compute(p.x, off, lanes, ns.dt, mask), ns.stats).v;
        Value nrm = arith::MulFOp::create(B, arith::SubFOp::create(B, x, mean_v), inv_v);
        TypedValue y = convert(kb, {nrm, ns.stats}, cd);
        if (ns.round_normalized && y.dtype != ns.dt) {
          y = from_storage(B, loc, to_storage(B, loc, {y.v, ns.dt}), ns.dt);
          y.dtype = cd;
        }
        Value s = sc ? sc : kb.load_compute(p.scale_buf, col, lanes, ns.dt, mask).v;
        Value v = arith::MulFOp::create(B, y.v, s);
        if (bi || p.bias) {
          Value b = bi ? bi : kb.load_compute(p.bias_buf, col, lanes, ns.dt, mask).v;
          v = arith::AddFOp::create(B, v, b);
        }
        store_result(kb, epi.apply(kb, {v, ns.dt}, off, col, mask), p.out_dt, p.out, off, mask);
        return SmallVector<Value>{};
      });
    };
    switch (ns.params) {
      case Params::Column: {
        auto scalar = [&](Value buf, const eave::Value* v) {
          return kb.broadcast(param(buf, v, kb.index(0), cd), lanes);
        };
        Value sc = ns.scale_scalar ? scalar(p.scale_buf, p.scale) : Value();
        Value bi = p.bias && ns.bias_scalar ? scalar(p.bias_buf, p.bias) : Value();
        write(kb.index(0), ns.len, sc, bi);
        break;
      }
      case Params::Row: {
        Value c = kb.rem(row, kb.dim(ns.period));
        write(kb.index(0), ns.len, kb.broadcast(param(p.scale_buf, p.scale, c, cd), lanes),
              kb.broadcast(param(p.bias_buf, p.bias, c, cd), lanes));
        break;
      }
      case Params::Channel: {
        Value first = kb.mul(kb.rem(row, kb.dim(ns.period)), kb.index(ns.channels));
        Value block = kb.dim(ns.block_len);
        kb.loop(kb.index(0), kb.index(ns.channels), kb.index(1), [&](Value k) {
          Value c = kb.add(first, k);
          write(kb.mul(k, block), ns.block_len, kb.broadcast(param(p.scale_buf, p.scale, c, cd), lanes),
                kb.broadcast(param(p.bias_buf, p.bias, c, cd), lanes));
        });
        break;
      }
    }
  };
  kb.loop(rows.begin, rows.end, kb.index(1), [&](Value row) {
    // An empty row has no first element to shift by, and nothing to write.
    if (ns.given_stats || (ns.len.is_const() && ns.len.value() > 0)) row_body(row);
    else if (!ns.len.is_const()) kb.if_then(kb.lt(kb.index(0), len), [&] { row_body(row); });
  });
}

}  // namespace

bool lowers_normalization(const Node& n) {
  return analyze_softmax(n).has_value() || analyze_norm(n).has_value();
}

bool normalization_fuses(const Node& anchor, const Node& consumer) {
  if (!lowers_elementwise(consumer)) return false;
  std::optional<Dim> row_len = row_len_of(anchor);
  const Shape& out = anchor.output(0)->shape();
  for (const eave::Value* v : consumer.inputs())
    if (v && !FusedEpilogue::operand_ok(v, out, row_len ? &*row_len : nullptr)) return false;
  return true;
}

LoweredKernel lower_normalization(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& n = *d.anchor();
  // Y (or the last fused consumer's result), and LayerNorm's Mean and InvStdDev where read.
  const eave::Value* y = d.nodes.back()->output(0);
  auto produced = [&](const eave::Value* v) {
    return v && std::find(d.outputs.begin(), d.outputs.end(), v) != d.outputs.end();
  };
  EAVE_CHECK(d.nodes.size() == 1 || produced(y), n.describe(), ": fused consumers' result is not an output");
  std::optional<Dim> row_len = row_len_of(n);
  FusedEpilogue epi(d, row_len ? &*row_len : nullptr);
  std::vector<const eave::Value*> operands;
  if (auto s = analyze_softmax(n)) {
    operands = {n.input(0)};
  } else if (n.kind() == OpKind::BatchNormalization) {
    operands = {n.input(0), n.input(1), n.input(2), n.input(3), n.input(4)};
  } else {
    operands = {n.input(0), n.input(1)};
    if (n.input(2)) operands.push_back(n.input(2));
  }
  size_t first_epi = operands.size();
  operands.insert(operands.end(), epi.operands().begin(), epi.operands().end());
  // The outputs, in the dispatch's order.
  size_t first_out = operands.size();
  operands.insert(operands.end(), d.outputs.begin(), d.outputs.end());
  KernelBuilder kb(lc, name, operands);
  auto out_buf = [&](const eave::Value* v) -> Value {
    for (size_t i = first_out; i < operands.size(); ++i)
      if (operands[i] == v) return kb.buffer(i);
    return {};
  };
  std::vector<Value> epi_bufs;
  for (size_t i = 0; i < epi.operands().size(); ++i) epi_bufs.push_back(kb.buffer(first_epi + i));
  epi.bind(epi_bufs);
  Value out = produced(y) ? out_buf(y) : Value();
  Dim tiles;
  if (auto s = analyze_softmax(n)) {
    EAVE_CHECK(out, n.describe(), ": softmax result unused");
    if (s->inner == Dim(1)) softmax_rows(kb, *s, epi, kb.buffer(0), out, y->dtype(), &tiles);
    else softmax_columns(kb, *s, epi, kb.buffer(0), out, y->dtype(), &tiles);
  } else {
    NormSpec ns = *analyze_norm(n);
    NormOperands p;
    p.x = kb.buffer(0);
    p.out = out;
    p.out_dt = y->dtype();
    if (produced(n.output(1))) {
      p.mean_out = out_buf(n.output(1));
      p.mean_dt = n.output(1)->dtype();
    }
    if (produced(n.output(2))) {
      p.inv_std_out = out_buf(n.output(2));
      p.inv_std_dt = n.output(2)->dtype();
    }
    p.scale = n.input(1);
    p.scale_buf = kb.buffer(1);
    if (n.input(2)) {
      p.bias = n.input(2);
      p.bias_buf = kb.buffer(2);
    }
    if (ns.given_stats) {
      p.mean = n.input(3);
      p.mean_buf = kb.buffer(3);
      p.var = n.input(4);
      p.var_buf = kb.buffer(4);
    }
    norm_rows(kb, ns, p, epi, &tiles);
  }
  return kb.finish(tiles);
}

}  // namespace eave::lowering
