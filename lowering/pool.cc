// Lowering: MaxPool, AveragePool (1-d, 2-d and 3-d windows, every padding, stride, dilation,
// ceil_mode and count_include_pad) and GlobalAveragePool/GlobalMaxPool, f32 NCHW, on codegen's
// window kernels. MaxPool's optional Indices output is left to the builtin.
#include "codegen/window_kernel.h"
#include "lowering/lowering.h"
#include "lowering/window.h"
#include "support/error.h"

namespace eave::lowering {

namespace {

bool is_f32_tensor(const Value* v) {
  return v && v->type().is_tensor() && v->dtype() == DType::F32 && v->shape().has_rank();
}

// X and Y of a pool: f32 (N, C, spatial...) with static C and spatial dims, the same N and C.
bool pool_values_ok(const Node& n) {
  if (n.num_inputs() != 1 || n.num_outputs() < 1) return false;
  for (size_t i = 1; i < n.num_outputs(); ++i)
    if (n.output(i) && (n.output(i)->has_uses() || n.output(i)->is_graph_output())) return false;
  const Value* x = n.input(0);
  const Value* y = n.output(0);
  if (!is_f32_tensor(x) || !is_f32_tensor(y) || x->shape().rank() != y->shape().rank()) return false;
  return x->shape()[0] == y->shape()[0] && x->shape()[1] == y->shape()[1];
}

std::optional<codegen::WindowSpec> analyze_pool(const Node& n) {
  if (n.kind() != OpKind::MaxPool && n.kind() != OpKind::AveragePool) return std::nullopt;
  if (!pool_values_ok(n)) return std::nullopt;
  auto in = static_spatial(n.input(0));
  auto out = static_spatial(n.output(0));
  const Attribute* ks = n.find_attr("kernel_shape");
  if (!in || !out || !ks || ks->kind != AttrKind::Ints) return std::nullopt;
  auto win = window_of(n, *in, ks->ints);
  if (!win) return std::nullopt;
  size_t rank = in->size();
  if ((*out)[rank - 1] != win->ow || (rank >= 2 && (*out)[rank - 2] != win->oh) ||
      (rank == 3 && (*out)[0] != win->od))
    return std::nullopt;
  codegen::WindowSpec s;
  s.op = n.kind() == OpKind::MaxPool ? codegen::WindowOp::max_pool : codegen::WindowOp::average_pool;
  if (s.op == codegen::WindowOp::average_pool) {
    const Attribute* cip = n.find_attr("count_include_pad");
    if (cip && cip->kind != AttrKind::Int) return std::nullopt;
    s.count_include_pad = cip && cip->i != 0;
  }
  s.c = n.input(0)->shape()[1].value();
  set_window(s, *win);
  return s;
}

// Global pools: the product of the static spatial dims (any number of them).
std::optional<int64_t> global_positions(const Node& n) {
  if (n.kind() != OpKind::GlobalAveragePool && n.kind() != OpKind::GlobalMaxPool) return std::nullopt;
  if (!pool_values_ok(n)) return std::nullopt;
  const Shape& s = n.input(0)->shape();
  if (s.rank() < 3 || !s[1].is_const()) return std::nullopt;
  int64_t positions = 1;
  for (size_t i = 2; i < s.rank(); ++i) {
    if (!s[i].is_const() || s[i].value() < 1) return std::nullopt;
    positions *= s[i].value();
  }
  return positions;
}

}  // namespace

bool lowers_pool(const Node& n) {
  return analyze_pool(n).has_value() || global_positions(n).has_value();
}

LoweredKernel lower_pool(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& node = *d.anchor();
  EAVE_CHECK(d.nodes.size() == 1, node.describe(), ": a pool dispatch takes no fused consumers");
  const Value* x = node.input(0);
  const Value* y = node.output(0);
  const Dim& batch = x->shape()[0];
  LoweredKernel k;
  k.operands = {const_cast<Value*>(x), const_cast<Value*>(y)};
  if (auto positions = global_positions(node)) {
    codegen::GlobalPoolSpec spec;
    spec.max = node.kind() == OpKind::GlobalMaxPool;
    spec.positions = *positions;
    Dim planes = batch * x->shape()[1];
    if (planes.is_const()) spec.planes = planes.value();
    else spec.planes_sym = lc.symbol_of(planes);
    codegen::build_global_pool_kernel(lc.module, name + "_body", spec, lc.target);
    k.binding = codegen::global_pool_binding(spec, name + "_body", name);
    k.tiles = Dim::ceildiv(planes, Dim(codegen::global_pool_planes_per_tile(spec)));
    return k;
  }
  codegen::WindowSpec spec = *analyze_pool(node);
  if (batch.is_const()) spec.n = batch.value();
  else spec.n_sym = lc.symbol_of(batch);
  codegen::WindowTiling tiling = codegen::choose_window_tiling(spec, lc.target);
  codegen::build_window_kernel(lc.module, name + "_body", spec, tiling);
  k.binding = codegen::window_binding(spec, name + "_body", name);
  k.tiles = batch * Dim(codegen::window_tiles_per_image(spec, tiling));
  return k;
}

}  // namespace eave::lowering
