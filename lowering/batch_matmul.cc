// Lowering: f32 MatMul whose B is computed at run time (attention's Q·Kᵀ and P·V), or constant
// with batch dims, with NumPy batch broadcasting; on codegen's batch matmul kernel. MatMul with
// a constant 2-d B goes to the packed-B kernel instead (matmul.cc). Element-wise consumers
// (attention's scale, a mask of the scores' shape or one row per column) run as the epilogue.
#include "codegen/batch_matmul_kernel.h"
#include "lowering/fused_epilogue.h"
#include "lowering/lowering.h"
#include "support/error.h"

namespace eave::lowering {

namespace {

bool is_f32_tensor(const Value* v) {
  return v && v->type().is_tensor() && v->dtype() == DType::F32 && v->shape().has_rank();
}

struct BatchMatmulShape {
  std::vector<Dim> batch;  // the output's batch dims
  std::vector<bool> a_broadcast, b_broadcast;
  Dim a_batch = Dim(1), b_batch = Dim(1);
  Dim m, n, k;
};

// Per output batch dim: whether `s` (an operand's shape) broadcasts along it; nullopt when its
// dim neither equals the output's nor is 1.
std::optional<std::vector<bool>> broadcast_flags(const Shape& s, const std::vector<Dim>& out) {
  size_t rb = s.rank() - 2;
  std::vector<bool> flags(out.size(), true);
  if (rb > out.size()) return std::nullopt;
  for (size_t i = 0; i < rb; ++i) {
    size_t o = out.size() - rb + i;
    if (s[i] == out[o]) flags[o] = false;
    else if (s[i] != Dim(1)) return std::nullopt;
  }
  return flags;
}

std::optional<BatchMatmulShape> analyze(const Node& n) {
  if (n.kind() != OpKind::MatMul || n.num_inputs() != 2 || n.num_outputs() != 1) return std::nullopt;
  const Value* a = n.input(0);
  const Value* b = n.input(1);
  const Value* y = n.output(0);
  if (!is_f32_tensor(a) || !is_f32_tensor(b) || !is_f32_tensor(y)) return std::nullopt;
  const Shape& as = a->shape();
  const Shape& bs = b->shape();
  const Shape& ys = y->shape();
  if (as.rank() < 2 || bs.rank() < 2 || ys.rank() != std::max(as.rank(), bs.rank())) return std::nullopt;
  BatchMatmulShape s;
  s.m = as[as.rank() - 2];
  s.k = as[as.rank() - 1];
  s.n = bs[bs.rank() - 1];
  if (bs[bs.rank() - 2] != s.k || ys[ys.rank() - 2] != s.m || ys[ys.rank() - 1] != s.n) return std::nullopt;
  s.batch.assign(ys.dims().begin(), ys.dims().end() - 2);
  auto af = broadcast_flags(as, s.batch), bf = broadcast_flags(bs, s.batch);
  if (!af || !bf) return std::nullopt;
  s.a_broadcast = *af;
  s.b_broadcast = *bf;
  for (size_t i = 0; i + 2 < as.rank(); ++i) s.a_batch = s.a_batch * as[i];
  for (size_t i = 0; i + 2 < bs.rank(); ++i) s.b_batch = s.b_batch * bs[i];
  return s;
}

}  // namespace

bool lowers_batch_matmul(const Node& n) { return !lowers_matmul(n) && analyze(n).has_value(); }

bool batch_matmul_fuses(const Node& anchor, const Node& consumer) {
  const Shape& out = anchor.output(0)->shape();
  return out[out.rank() - 1].is_const() && epilogue_fuses(anchor, consumer, classify_matrix_operand);
}

LoweredKernel lower_batch_matmul(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& node = *d.anchor();
  BatchMatmulShape s = *analyze(node);
  auto sym_dim = [&](const Dim& dim) {
    codegen::SymDim out;
    if (dim.is_const()) out.value = dim.value();
    else out.sym = lc.symbol_of(dim);
    return out;
  };
  codegen::BatchMatmulSpec spec;
  for (const Dim& dim : s.batch) spec.batch.push_back(sym_dim(dim));
  spec.a_broadcast = s.a_broadcast;
  spec.b_broadcast = s.b_broadcast;
  spec.a_batch = sym_dim(s.a_batch);
  spec.b_batch = sym_dim(s.b_batch);
  spec.m = sym_dim(s.m);
  spec.n = sym_dim(s.n);
  spec.k = sym_dim(s.k);
  Dim matrices(1);
  for (const Dim& dim : s.batch) matrices = matrices * dim;
  spec.rows = sym_dim(matrices * s.m);
  codegen::BatchMatmulTiling tiling = codegen::choose_batch_matmul_tiling(spec, lc.target);

  EpilogueLayout layout;
  layout.rows = spec.rows.value;
  layout.width = s.n.is_const() ? s.n.value() : 0;
  FusedEpilogue e = build_fused_epilogue(d, lc.ctx, layout);
  const codegen::MatmulEpilogue* custom = e.present ? &e.epilogue : nullptr;
  codegen::build_batch_matmul_kernel(lc.module, name + "_body", spec, tiling, custom);
  LoweredKernel k;
  k.binding = codegen::batch_matmul_binding(spec, name + "_body", name, custom);
  // The step passes inputs then outputs: A, B, the epilogue's operands, C.
  k.operands = {const_cast<Value*>(node.input(0)), const_cast<Value*>(node.input(1))};
  for (const Value* v : e.values) k.operands.push_back(const_cast<Value*>(v));
  k.operands.push_back(const_cast<Value*>(d.outputs.at(0)));
  std::vector<int> buffer_of(k.binding.operands.size());
  buffer_of[0] = 0;
  buffer_of[1] = 1;
  for (size_t i = 0; i < e.values.size(); ++i) buffer_of[3 + i] = int(2 + i);
  buffer_of[2] = int(2 + e.values.size());
  for (size_t i = 0; i < buffer_of.size(); ++i) k.binding.operands[i].buffer = buffer_of[i];
  k.tiles = matrices * Dim::ceildiv(s.m, Dim(tiling.tile_rows));
  return k;
}

}  // namespace eave::lowering
