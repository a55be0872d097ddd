#include "lowering/fused_epilogue.h"

#include <unordered_map>

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

bool is_scalar(const Shape& s) { return s.is_static() && shape_numel(s.static_dims()) == 1; }

}  // namespace

EpilogueOperand classify_channel_operand(const eave::Value* v, const Shape& out) {
  if (!is_f32_tensor(v)) return EpilogueOperand::Unsupported;
  const Shape& s = v->shape();
  if (is_scalar(s)) return EpilogueOperand::Scalar;
  if (s == out) return EpilogueOperand::Full;
  // Right-aligned against out: 1 everywhere except the channel axis (1).
  if (s.rank() < 1 || s.rank() > out.rank() || s.rank() + 1 < out.rank()) return EpilogueOperand::Unsupported;
  size_t lead = out.rank() - s.rank();  // 0 or 1
  for (size_t i = 0; i < s.rank(); ++i) {
    size_t axis = lead + i;
    if (axis == 1 ? s[i] != out[1] : s[i] != Dim(1)) return EpilogueOperand::Unsupported;
  }
  return EpilogueOperand::Channel;
}

EpilogueOperand classify_matrix_operand(const eave::Value* v, const Shape& out) {
  if (!is_f32_tensor(v)) return EpilogueOperand::Unsupported;
  const Shape& s = v->shape();
  if (is_scalar(s)) return EpilogueOperand::Scalar;
  if (s == out) return EpilogueOperand::Full;
  // [..., 1, N] with every leading dim 1: one value per column.
  if (s.rank() >= 1 && s.rank() <= out.rank() && s[s.rank() - 1] == out[out.rank() - 1]) {
    for (size_t i = 0; i + 1 < s.rank(); ++i)
      if (s[i] != Dim(1)) return EpilogueOperand::Unsupported;
    return EpilogueOperand::Row;
  }
  return EpilogueOperand::Unsupported;
}

bool epilogue_fuses(const Node& anchor, const Node& consumer,
                    EpilogueOperand (*classify)(const eave::Value*, const Shape&)) {
  if (!lowers_elementwise(consumer) || !is_f32_tensor(consumer.output(0))) return false;
  const Shape& out = anchor.output(0)->shape();
  for (const eave::Value* v : consumer.inputs())
    if (v && classify(v, out) == EpilogueOperand::Unsupported) return false;
  return true;
}

FusedEpilogue build_fused_epilogue(const Dispatch& d, MLIRContext* ctx, const EpilogueLayout& layout) {
  const Node& anchor = *d.anchor();
  const Shape& out_shape = anchor.output(0)->shape();
  FusedEpilogue e;
  if (d.nodes.size() == 1) return e;
  e.present = true;
  const bool channels = layout.channels > 0;
  // Every input of a fused node that is not computed inside the dispatch, first use first.
  std::vector<EpilogueOperand> kinds;
  std::vector<const eave::Value*> inside = {anchor.output(0)};
  for (size_t i = 1; i < d.nodes.size(); ++i) {
    for (const eave::Value* v : d.nodes[i]->inputs()) {
      if (!v || std::find(inside.begin(), inside.end(), v) != inside.end() ||
          std::find(e.values.begin(), e.values.end(), v) != e.values.end())
        continue;
      e.values.push_back(v);
      kinds.push_back(channels ? classify_channel_operand(v, out_shape)
                               : classify_matrix_operand(v, out_shape));
      EAVE_ASSERT(kinds.back() != EpilogueOperand::Unsupported);
    }
    inside.push_back(d.nodes[i]->output(0));
  }
  OpBuilder tb(ctx);
  Type f32 = tb.getF32Type();
  int64_t rows = layout.rows < 0 ? ShapedType::kDynamic : layout.rows;
  for (EpilogueOperand k : kinds) {
    switch (k) {
      case EpilogueOperand::Scalar: e.epilogue.operand_types.push_back(MemRefType::get({}, f32)); break;
      case EpilogueOperand::Channel: e.epilogue.operand_types.push_back(MemRefType::get({layout.channels}, f32)); break;
      case EpilogueOperand::Row: e.epilogue.operand_types.push_back(MemRefType::get({layout.width}, f32)); break;
      case EpilogueOperand::Full: e.epilogue.operand_types.push_back(MemRefType::get({rows, layout.width}, f32)); break;
      case EpilogueOperand::Unsupported: break;
    }
  }
  const Dispatch* dp = &d;
  std::vector<const eave::Value*> values = e.values;
  int64_t positions = layout.positions;
  e.epilogue.apply = [dp, values, kinds, positions](const codegen::EpilogueSite& site) -> Value {
    OpBuilder& b = site.b;
    Location loc = site.loc;
    auto vt = cast<VectorType>(site.acc.getType());
    std::unordered_map<const eave::Value*, TypedValue> env;
    env[dp->anchor()->output(0)] = {site.acc, DType::F32};
    auto broadcast = [&](Value m, ValueRange at) -> Value {
      return vector::BroadcastOp::create(b, loc, vt, memref::LoadOp::create(b, loc, m, at));
    };
    Value channel;
    for (size_t i = 0; i < values.size(); ++i) {
      Value m = site.operands[i];
      Value v;
      switch (kinds[i]) {
        case EpilogueOperand::Scalar: v = broadcast(m, {}); break;
        case EpilogueOperand::Channel:
          if (!channel)
            channel = arith::DivUIOp::create(b, loc, site.col, arith::ConstantIndexOp::create(b, loc, positions));
          v = broadcast(m, channel);
          break;
        case EpilogueOperand::Row: v = site.load_row_vector(m, {}); break;
        case EpilogueOperand::Full: v = site.load_row_vector(m, {site.row}); break;
        case EpilogueOperand::Unsupported: break;
      }
      env[values[i]] = {v, DType::F32};
    }
    for (size_t k = 1; k < dp->nodes.size(); ++k) {
      const Node& n = *dp->nodes[k];
      std::vector<TypedValue> ins;
      for (const eave::Value* v : n.inputs()) ins.push_back(v ? env.at(v) : TypedValue{});
      env[n.output(0)] = build_elementwise(b, loc, n, ins);
    }
    return env.at(dp->outputs[0]).v;
  };
  return e;
}

}  // namespace eave::lowering
