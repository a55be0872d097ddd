// Lowering: Conv (1-d, 2-d and 3-d, NCHW, f32) with constant weights and bias, on codegen's
// convolution kernel. The weights are packed at compile time into the kernel's layout; the bias
// and the element-wise consumers fused into the dispatch (BatchNorm's folded scale and shift,
// Relu, Clip, Sigmoid, HardSwish, residual adds, ...) run on the accumulator vectors before the
// result is stored.
#include <unordered_map>

#include "codegen/conv_kernel.h"
#include "codegen/matmul_epilogue.h"
#include "codegen/window_kernel.h"
#include "lowering/fused_epilogue.h"
#include "lowering/elementwise_ops.h"
#include "lowering/lowering.h"
#include "lowering/window.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

// ---------------------------------------------------------------- window geometry

namespace {

// An ints attribute of `count` entries, `dflt` repeated when absent; nullopt when malformed.
std::optional<std::vector<int64_t>> ints_attr(const Node& n, const char* name, size_t count,
                                              int64_t dflt) {
  const Attribute* a = n.find_attr(name);
  if (!a) return std::vector<int64_t>(count, dflt);
  if (a->kind != AttrKind::Ints || a->ints.size() != count) return std::nullopt;
  return a->ints;
}

}  // namespace

std::optional<Window2d> window_of(const Node& n, const std::vector<int64_t>& in,
                                  const std::vector<int64_t>& kernel) {
  const size_t rank = in.size();
  if (rank < 1 || rank > 3 || kernel.size() != rank) return std::nullopt;
  auto strides = ints_attr(n, "strides", rank, 1);
  auto dilations = ints_attr(n, "dilations", rank, 1);
  auto pads = ints_attr(n, "pads", 2 * rank, 0);
  if (!strides || !dilations || !pads) return std::nullopt;
  const Attribute* ap = n.find_attr("auto_pad");
  std::string auto_pad = ap && ap->kind == AttrKind::String ? ap->s : "NOTSET";
  if (ap && ap->kind != AttrKind::String) return std::nullopt;
  const Attribute* cm = n.find_attr("ceil_mode");
  if (cm && cm->kind != AttrKind::Int) return std::nullopt;
  bool ceil_mode = cm && cm->i != 0;

  int64_t out[3], pb_of[3], pe_of[3];
  for (size_t d = 0; d < rank; ++d) {
    int64_t k = kernel[d], s = (*strides)[d], dil = (*dilations)[d];
    int64_t pb = (*pads)[d], pe = (*pads)[d + rank];
    if (k < 1 || s < 1 || dil < 1 || pb < 0 || pe < 0 || in[d] < 1) return std::nullopt;
    int64_t extent = (k - 1) * dil + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[d] = (in[d] + s - 1) / s;
      int64_t total = std::max<int64_t>(0, (out[d] - 1) * s + extent - in[d]);
      pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (auto_pad == "NOTSET" || auto_pad == "VALID") {
      if (auto_pad == "VALID") pb = pe = 0;
      int64_t span = in[d] + pb + pe - extent;
      if (span < 0) return std::nullopt;
      out[d] = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      if (ceil_mode && (out[d] - 1) * s >= in[d] + pb) --out[d];
    } else {
      return std::nullopt;
    }
    pb_of[d] = pb;
    pe_of[d] = pe;
  }
  Window2d w;
  size_t x = rank - 1;  // the width axis; rank 2 adds the height axis before it, rank 3 depth
  w.in_w = in[x];
  w.kw = kernel[x];
  w.stride_w = (*strides)[x];
  w.dilation_w = (*dilations)[x];
  w.pad_left = pb_of[x];
  w.pad_right = pe_of[x];
  w.ow = out[x];
  if (rank >= 2) {
    size_t y = rank - 2;
    w.in_h = in[y];
    w.kh = kernel[y];
    w.stride_h = (*strides)[y];
    w.dilation_h = (*dilations)[y];
    w.pad_top = pb_of[y];
    w.pad_bottom = pe_of[y];
    w.oh = out[y];
  }
  if (rank == 3) {
    w.in_d = in[0];
    w.kd = kernel[0];
    w.stride_d = (*strides)[0];
    w.dilation_d = (*dilations)[0];
    w.pad_front = pb_of[0];
    w.pad_back = pe_of[0];
    w.od = out[0];
  }
  return w;
}

std::optional<std::vector<int64_t>> static_spatial(const eave::Value* v) {
  if (!v || !v->type().is_tensor() || !v->shape().has_rank()) return std::nullopt;
  const Shape& s = v->shape();
  if (s.rank() < 3 || s.rank() > 5 || !s[1].is_const()) return std::nullopt;
  std::vector<int64_t> out;
  for (size_t i = 2; i < s.rank(); ++i) {
    if (!s[i].is_const()) return std::nullopt;
    out.push_back(s[i].value());
  }
  return out;
}

// ---------------------------------------------------------------- Conv

namespace {

bool is_f32_tensor(const eave::Value* v) {
  return v && v->type().is_tensor() && v->dtype() == DType::F32 && v->shape().has_rank();
}

struct ConvNode {
  codegen::ConvSpec spec;  // without the batch
  Window2d win;
  Dim batch;
  const Tensor* weights;
  const Tensor* bias = nullptr;
};

std::optional<ConvNode> analyze_conv(const Node& n) {
  if (n.kind() != OpKind::Conv || n.num_outputs() != 1) return std::nullopt;
  const eave::Value* x = n.input(0);
  const eave::Value* w = n.input(1);
  const eave::Value* b = n.num_inputs() > 2 ? n.input(2) : nullptr;
  const eave::Value* y = n.output(0);
  if (!is_f32_tensor(x) || !is_f32_tensor(y) || !w || !w->is_constant() ||
      w->dtype() != DType::F32)
    return std::nullopt;
  if (b && (!b->is_constant() || b->dtype() != DType::F32)) return std::nullopt;
  auto in = static_spatial(x);
  auto out = static_spatial(y);
  if (!in || !out || in->size() != out->size()) return std::nullopt;
  const Tensor& wt = *w->constant();
  size_t rank = in->size();
  if (wt.rank() != rank + 2) return std::nullopt;
  std::vector<int64_t> kernel(wt.dims().begin() + 2, wt.dims().end());
  if (const Attribute* ks = n.find_attr("kernel_shape"))
    if (ks->kind != AttrKind::Ints || ks->ints != kernel) return std::nullopt;
  auto win = window_of(n, *in, kernel);
  if (!win) return std::nullopt;
  const Attribute* ga = n.find_attr("group");
  if (ga && ga->kind != AttrKind::Int) return std::nullopt;
  int64_t groups = ga ? ga->i : 1;
  int64_t c = x->shape()[1].value(), m = wt.dim(0);
  if (groups < 1 || c % groups != 0 || m % groups != 0 || wt.dim(1) != c / groups) return std::nullopt;
  // The output must be what the window says (shape inference and the window agree).
  const Shape& ys = y->shape();
  if (ys[0] != x->shape()[0] || ys[1] != Dim(m)) return std::nullopt;
  if ((*out)[rank - 1] != win->ow || (rank >= 2 && (*out)[rank - 2] != win->oh) ||
      (rank == 3 && (*out)[0] != win->od))
    return std::nullopt;
  if (b && b->constant()->numel() != m) return std::nullopt;

  ConvNode cn;
  cn.batch = x->shape()[0];
  cn.weights = &wt;
  cn.bias = b ? b->constant() : nullptr;
  codegen::ConvSpec& s = cn.spec;
  s.c = c;
  s.m = m;
  s.groups = groups;
  set_window(s, *win);
  cn.win = *win;
  s.bias = cn.bias != nullptr;
  return cn;
}

}  // namespace

bool lowers_conv(const Node& n) { return analyze_conv(n).has_value(); }

LoweredKernel lower_conv(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& anchor = *d.anchor();
  ConvNode cn = *analyze_conv(anchor);
  codegen::ConvSpec& spec = cn.spec;
  bool dynamic_batch = !cn.batch.is_const();
  if (dynamic_batch) {
    spec.n = -1;
    spec.n_sym = lc.symbol_of(cn.batch);
  } else {
    spec.n = cn.batch.value();
  }
  int64_t positions = spec.positions();
  EpilogueLayout layout;
  layout.channels = spec.m;
  layout.positions = positions;
  layout.rows = dynamic_batch ? -1 : spec.n;
  layout.width = spec.m * positions;
  FusedEpilogue e = build_fused_epilogue(d, lc.ctx, layout);
  const codegen::MatmulEpilogue* custom = e.present ? &e.epilogue : nullptr;

  // Buffers: X, weights, Y, bias (if any), the epilogue's operands. The step passes inputs then
  // outputs: X, weights, bias, epilogue operands, Y.
  LoweredKernel k;
  k.operands.push_back(const_cast<eave::Value*>(anchor.input(0)));
  codegen::KernelBinding binding;
  // Depthwise (one input channel per group) is memory-bound: the window kernel, vectorized
  // along output rows, with the weights as ONNX lays them out.
  if (spec.groups == spec.c && spec.c > 1) {
    codegen::WindowSpec ws;
    ws.op = codegen::WindowOp::depthwise_conv;
    ws.n = spec.n;
    ws.n_sym = spec.n_sym;
    ws.c = spec.c;
    ws.multiplier = spec.m / spec.c;
    set_window(ws, cn.win);
    ws.bias = spec.bias;
    codegen::WindowTiling tiling = codegen::choose_window_tiling(ws, lc.target);
    codegen::build_window_kernel(lc.module, name + "_body", ws, tiling, custom);
    binding = codegen::window_binding(ws, name + "_body", name, custom);
    k.operands.push_back(cn.weights->reshaped({cn.weights->numel()}));
    k.tiles = cn.batch * Dim(codegen::window_tiles_per_image(ws, tiling));
  } else {
    codegen::ConvTiling tiling = codegen::choose_conv_tiling(spec, lc.target);
    Tensor packed(DType::F32, {codegen::packed_conv_weights_elements(spec, tiling)});
    codegen::pack_conv_weights(cn.weights->data<float>(), spec, tiling, packed.mutable_data<float>());
    codegen::build_conv_kernel(lc.module, name + "_body", spec, tiling, custom);
    binding = codegen::conv_binding(spec, name + "_body", name, custom);
    k.operands.push_back(std::move(packed));
    k.tiles = cn.batch * Dim(codegen::conv_tiles_per_image(spec, tiling));
  }
  std::vector<int> buffer_of(binding.operands.size());
  buffer_of[0] = 0;
  buffer_of[1] = 1;
  int next = 2;
  size_t first_extra = 3;
  if (spec.bias) {
    k.operands.push_back(cn.bias->reshaped({spec.m}));
    buffer_of[3] = next++;
    first_extra = 4;
  }
  for (size_t i = 0; i < e.values.size(); ++i) {
    k.operands.push_back(const_cast<eave::Value*>(e.values[i]));
    buffer_of[first_extra + i] = next++;
  }
  k.operands.push_back(const_cast<eave::Value*>(d.outputs.at(0)));
  buffer_of[2] = next++;
  for (size_t i = 0; i < binding.operands.size(); ++i) binding.operands[i].buffer = buffer_of[i];
  k.binding = std::move(binding);
  return k;
}

}  // namespace eave::lowering
