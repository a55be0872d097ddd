// Lowering: MatMul and Gemm with constant weights, on codegen's packed-B f32 matmul kernel.
// The weights are packed into the microkernel's panel layout at compile time (Gemm's alpha and
// transB folded in); Gemm's C becomes the kernel's bias (times beta). Element-wise consumers
// fused into the dispatch run as the kernel's epilogue on the accumulator vectors, before the
// result is stored: a bias, an activation, a residual add never make a second pass over memory.
#include <optional>

#include "codegen/matmul_kernel.h"
#include "lowering/fused_epilogue.h"
#include "lowering/lowering.h"

namespace eave::lowering {

namespace {

bool is_f32_tensor(const eave::Value* v) {
  return v && v->type().is_tensor() && v->dtype() == DType::F32 && v->shape().has_rank();
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
  return epilogue_fuses(anchor, consumer, classify_matrix_operand);
}

LoweredKernel lower_matmul(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& anchor = *d.anchor();
  MatmulShape s = *analyze(anchor);
  const eave::Value* out = d.outputs.at(0);

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

  // Fused consumers: the result is a [M, N] matrix.
  EpilogueLayout layout;
  layout.rows = spec.m;
  layout.width = spec.n;
  FusedEpilogue fused = build_fused_epilogue(d, lc.ctx, layout);
  const codegen::MatmulEpilogue* custom = fused.present ? &fused.epilogue : nullptr;
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
  for (size_t i = 0; i < fused.values.size(); ++i) {
    k.operands.push_back(const_cast<eave::Value*>(fused.values[i]));
    buffer_of[first_extra + i] = next++;
  }
  k.operands.push_back(const_cast<eave::Value*>(out));
  buffer_of[2] = next++;
  for (size_t i = 0; i < binding.operands.size(); ++i) binding.operands[i].buffer = buffer_of[i];
  k.binding = std::move(binding);
  k.tiles = Dim::ceildiv(s.m, Dim(tiling.tile_rows)) * Dim(codegen::matmul_column_tiles(spec, tiling));
  return k;
}

}  // namespace eave::lowering
