// Lowering: MatMul and Gemm with constant weights, on codegen's packed-B f32 matmul kernel.
// The weights are packed into the microkernel's panel layout at compile time (Gemm's alpha and
// transB folded in); Gemm's C becomes the kernel's bias (times beta). Element-wise consumers
// fused into the dispatch run as the kernel's epilogue on the accumulator vectors, before the
// result is stored: a bias, an activation, a residual add never make a second pass over memory.
#include <unordered_map>

#include "codegen/matmul_epilogue.h"
#include "codegen/matmul_kernel.h"
#include "lowering/elementwise_ops.h"
#include "lowering/lowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

bool is_f32_tensor(const eave::Value* v) {
  return v && v->type().is_tensor() && v->dtype() == DType::F32 && v->shape().has_rank();
}

// How an epilogue operand lines up with the [M, N] result.
enum class Operand { Scalar, Row, Full, Unsupported };

Operand classify(const eave::Value* v, const Shape& out) {
  if (!is_f32_tensor(v)) return Operand::Unsupported;
  const Shape& s = v->shape();
  if (s.is_static() && shape_numel(s.static_dims()) == 1) return Operand::Scalar;
  if (s == out) return Operand::Full;
  // [..., 1, N]: one value per column.
  if (s.rank() >= 1 && s.rank() <= out.rank() && s[s.rank() - 1] == out[out.rank() - 1]) {
    bool ones = true;
    for (size_t i = 0; i + 1 < s.rank(); ++i) ones &= s[i] == Dim(1);
    if (ones) return Operand::Row;
  }
  return Operand::Unsupported;
}

struct MatmulShape {
  const eave::Value* a;
  const Tensor* b;
  bool trans_b = false;
  float alpha = 1.0f;
  const Tensor* c = nullptr;  // Gemm's C, constant
  float beta = 1.0f;
  Dim m;
  int64_t k = 0, n = 0;
};

std::optional<MatmulShape> analyze(const Node& n) {
  MatmulShape s;
  const eave::Value* a = n.input(0);
  const eave::Value* b = n.input(1);
  const eave::Value* out = n.output(0);
  if (!is_f32_tensor(a) || !b || !b->is_constant() || b->dtype() != DType::F32 ||
      b->constant()->rank() != 2 || !is_f32_tensor(out))
    return std::nullopt;
  s.a = a;
  s.b = b->constant();
  if (n.kind() == OpKind::Gemm) {
    if (n.attr_int("transA", 0) != 0 || a->shape().rank() != 2) return std::nullopt;
    s.trans_b = n.attr_int("transB", 0) != 0;
    s.alpha = n.attr_float("alpha", 1.0f);
    s.beta = n.attr_float("beta", 1.0f);
    if (const eave::Value* c = n.input(2)) {
      if (!c->is_constant() || c->dtype() != DType::F32) return std::nullopt;
      s.c = c->constant();
    }
  } else if (n.kind() != OpKind::MatMul || a->shape().rank() < 2) {
    return std::nullopt;
  }
  s.k = s.b->dim(s.trans_b ? 1 : 0);
  s.n = s.b->dim(s.trans_b ? 0 : 1);
  const Shape& as = a->shape();
  const Dim& ak = as[as.rank() - 1];
  if (!ak.is_const() || ak.value() != s.k || s.k < 1 || s.n < 1) return std::nullopt;
  s.m = Dim(1);
  for (size_t i = 0; i + 1 < as.rank(); ++i) s.m = s.m * as[i];
  if (s.c) {
    // C must be a scalar or one value per column: [N] or [1, N].
    int64_t cn = s.c->numel();
    if (cn != 1 && !(cn == s.n && s.c->dims().back() == s.n)) return std::nullopt;
  }
  return s;
}

}  // namespace

bool lowers_matmul(const Node& n) {
  return (n.kind() == OpKind::MatMul || n.kind() == OpKind::Gemm) && analyze(n).has_value();
}

bool matmul_fuses(const Node& anchor, const Node& consumer) {
  if (!lowers_elementwise(consumer) || !is_f32_tensor(consumer.output(0))) return false;
  const Shape& out = anchor.output(0)->shape();
  for (const eave::Value* v : consumer.inputs())
    if (v && classify(v, out) == Operand::Unsupported) return false;
  return true;
}

LoweredKernel lower_matmul(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& anchor = *d.anchor();
  MatmulShape s = *analyze(anchor);
  const eave::Value* out = d.outputs.at(0);
  const Shape& out_shape = anchor.output(0)->shape();

  codegen::MatmulSpec spec;
  spec.n = s.n;
  spec.k = s.k;
  if (s.m.is_const()) {
    spec.m = s.m.value();
  } else {
    spec.m = -1;
    spec.m_sym = lc.symbol_of(s.m);
  }
  spec.bias = s.c != nullptr;
  codegen::MatmulTiling tiling = codegen::choose_matmul_tiling(spec, lc.target);

  // Weights, packed (alpha folded in).
  Tensor b = s.b->clone();
  if (s.alpha != 1.0f)
    for (float& x : b.mutable_span<float>()) x *= s.alpha;
  Tensor packed(DType::F32, {codegen::packed_rhs_elements(spec, tiling)});
  codegen::pack_matmul_rhs(b.data<float>(), s.trans_b, spec, tiling, packed.mutable_data<float>());

  // Epilogue operands: every input of a fused node that is not computed inside the dispatch.
  std::vector<const eave::Value*> inside = {anchor.output(0)};
  std::vector<const eave::Value*> extra;
  std::vector<Operand> extra_kind;
  std::vector<Type> extra_types;
  OpBuilder tb(lc.ctx);
  for (size_t i = 1; i < d.nodes.size(); ++i) {
    for (const eave::Value* v : d.nodes[i]->inputs()) {
      if (!v || std::find(inside.begin(), inside.end(), v) != inside.end() ||
          std::find(extra.begin(), extra.end(), v) != extra.end())
        continue;
      Operand kind = classify(v, out_shape);
      EAVE_ASSERT(kind != Operand::Unsupported);
      extra.push_back(v);
      extra_kind.push_back(kind);
      int64_t m_dim = spec.m < 0 ? ShapedType::kDynamic : spec.m;
      if (kind == Operand::Scalar) extra_types.push_back(MemRefType::get({}, tb.getF32Type()));
      else if (kind == Operand::Row) extra_types.push_back(MemRefType::get({spec.n}, tb.getF32Type()));
      else extra_types.push_back(MemRefType::get({m_dim, spec.n}, tb.getF32Type()));
    }
    inside.push_back(d.nodes[i]->output(0));
  }

  codegen::MatmulEpilogue epilogue;
  epilogue.operand_types = extra_types;
  const Dispatch* dp = &d;
  epilogue.apply = [dp, extra, extra_kind](const codegen::EpilogueSite& site) -> Value {
    OpBuilder& b = site.b;
    Location loc = site.loc;
    auto vt = cast<VectorType>(site.acc.getType());
    std::unordered_map<const eave::Value*, TypedValue> env;
    env[dp->anchor()->output(0)] = {site.acc, DType::F32};
    for (size_t i = 0; i < extra.size(); ++i) {
      Value m = site.operands[i];
      Value v;
      switch (extra_kind[i]) {
        case Operand::Scalar:
          v = vector::BroadcastOp::create(b, loc, vt, memref::LoadOp::create(b, loc, m, ValueRange{}));
          break;
        case Operand::Row: v = site.load_row_vector(m, {}); break;
        case Operand::Full: v = site.load_row_vector(m, {site.row}); break;
        case Operand::Unsupported: break;
      }
      env[extra[i]] = {v, DType::F32};
    }
    for (size_t k = 1; k < dp->nodes.size(); ++k) {
      const Node& n = *dp->nodes[k];
      std::vector<TypedValue> ins;
      for (const eave::Value* v : n.inputs()) ins.push_back(v ? env.at(v) : TypedValue{});
      env[n.output(0)] = build_elementwise(b, loc, n, ins);
    }
    return env.at(dp->outputs[0]).v;
  };
  const codegen::MatmulEpilogue* custom = extra.empty() && d.nodes.size() == 1 ? nullptr : &epilogue;
  codegen::build_matmul_kernel(lc.module, name + "_body", spec, tiling, custom);
  codegen::KernelBinding binding = codegen::matmul_binding(spec, name + "_body", name, custom);

  // The step passes inputs then outputs: A, packed B, bias, epilogue operands, then C.
  LoweredKernel k;
  k.operands.push_back(const_cast<eave::Value*>(s.a));
  k.operands.push_back(std::move(packed));
  int next = 2;
  std::vector<int> buffer_of(binding.operands.size());
  buffer_of[0] = 0;
  buffer_of[1] = 1;
  size_t first_extra = 3;
  if (spec.bias) {
    Tensor bias(DType::F32, {spec.n});
    for (int64_t j = 0; j < spec.n; ++j)
      bias.mutable_data<float>()[j] =
          float(double(s.beta) * s.c->as_double(s.c->numel() == 1 ? 0 : j));
    k.operands.push_back(std::move(bias));
    buffer_of[3] = next++;
    first_extra = 4;
  }
  for (size_t i = 0; i < extra.size(); ++i) {
    k.operands.push_back(const_cast<eave::Value*>(extra[i]));
    buffer_of[first_extra + i] = next++;
  }
  k.operands.push_back(const_cast<eave::Value*>(out));
  buffer_of[2] = next++;
  for (size_t i = 0; i < binding.operands.size(); ++i) binding.operands[i].buffer = buffer_of[i];
  k.binding = std::move(binding);
  k.tiles = Dim::ceildiv(s.m, Dim(tiling.tile_rows));
  return k;
}

}  // namespace eave::lowering
