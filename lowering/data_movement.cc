// Lowering: data movement whose shapes are static or symbolic, never data-dependent:
// Transpose, Concat, Slice, Split, Expand, Tile, DepthToSpace, SpaceToDepth (strided copies),
// Pad (copy plus constant, edge, reflect or wrap borders) and Gather with constant indices.
// Semantics from reference/shape.cc and reference/gather_scatter.cc; every dtype (bytes move
// as the storage type).
//
// Most of these ops are one or more strided copies: for every index o of some dims D,
// dst[dst_base + sum o_d * T_d] = src[src_base + sum o_d * S_d]. Concat is one copy per input
// into a slab of the output, Split one per output, Transpose, Slice, Expand and Tile one copy
// with permuted, stepped or zero strides, DepthToSpace and SpaceToDepth a 6-D transpose. Dims
// of size 1 are dropped and dims contiguous on both sides merged, so that the innermost run is
// as long as possible; it is then copied with vectors (contiguous), filled with a broadcast
// (stride 0), or, when only the source is strided and another dim is contiguous in the source
// (a transpose), copied in 16 x 16 blocks so reads and writes both stay within cache lines.
//
// Gather with indices from any other tensor stays a runtime builtin: it checks every index and
// reports one out of range, which a kernel cannot do.
#include <algorithm>
#include <optional>

#include "lowering/kernel_builder.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

bool is_tensor(const eave::Value* v) {
  return v && v->type().is_tensor() && v->shape().has_rank();
}

bool movable(const eave::Value* v) {
  if (!is_tensor(v)) return false;
  DType t = v->dtype();
  return is_float(t) || is_integer(t) || t == DType::Bool;
}

// Row-major strides of `dims`.
std::vector<Dim> strides_of(const std::vector<Dim>& dims) {
  std::vector<Dim> st(dims.size());
  Dim acc(1);
  for (size_t i = dims.size(); i-- > 0;) {
    st[i] = acc;
    acc = acc * dims[i];
  }
  return st;
}

std::vector<Dim> strides_of(const Shape& s) { return strides_of(s.dims()); }

// A constant integer list input (int32 or int64), or nullopt.
std::optional<std::vector<int64_t>> const_ints(const eave::Value* v) {
  if (!v || !v->is_constant()) return std::nullopt;
  const Tensor& t = *v->constant();
  if ((t.dtype() != DType::I64 && t.dtype() != DType::I32) || t.rank() > 1) return std::nullopt;
  return t.to_int_vector();
}

// Normalized axes, or nullopt when out of range.
std::optional<std::vector<int64_t>> norm_axes(std::vector<int64_t> axes, int64_t rank) {
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return std::nullopt;
  }
  return axes;
}

// ---------------------------------------------------------------- strided copies

struct CopyDim {
  Dim size, src, dst;  // extent, source stride, destination stride (elements)
};

struct Copy {
  size_t src = 0, dst = 0;  // operand indices
  Dim src_base = Dim(0), dst_base = Dim(0);
  std::vector<CopyDim> dims;
};

// Drops size-1 dims and merges neighbours that are contiguous on both sides.
void simplify(Copy& c) {
  std::vector<CopyDim> out;
  for (const CopyDim& d : c.dims) {
    if (d.size == Dim(1)) continue;
    if (!out.empty() && out.back().src == d.src * d.size && out.back().dst == d.dst * d.size) {
      out.back() = {out.back().size * d.size, d.src, d.dst};
      continue;
    }
    out.push_back(d);
  }
  if (out.empty()) out.push_back({Dim(1), Dim(1), Dim(1)});
  c.dims = std::move(out);
}

// The whole of `src_shape` into a destination laid out as `dst_strides` from `dst_base`, source
// strides `src_strides` from `src_base`, over `dims`.
Copy make_copy(size_t src, size_t dst, const std::vector<Dim>& dims, const std::vector<Dim>& s,
               const std::vector<Dim>& t, Dim src_base = Dim(0), Dim dst_base = Dim(0)) {
  Copy c{src, dst, src_base, dst_base, {}};
  for (size_t i = 0; i < dims.size(); ++i) c.dims.push_back({dims[i], s[i], t[i]});
  return c;
}

// Which of a node's outputs the kernel writes (outputs not in the dispatch are skipped).
struct MovePlan {
  std::vector<const eave::Value*> inputs;  // operands 0..
  std::vector<const eave::Value*> outputs; // node outputs, in order (null: none)
  std::vector<Copy> copies;                // operand indices: inputs, then node outputs
  enum class Kind { Copies, Pad, Gather } kind = Kind::Copies;
  // Pad
  enum class PadMode { Constant, Edge, Reflect, Wrap } pad_mode = PadMode::Constant;
  std::vector<Dim> pad_lo, pad_keep, pad_from;  // per axis: output offset of the kept region,
                                                // its length, and its first input index
  bool pad_value_input = false;                 // the constant is input 1 (else zero)
  double pad_value = 0;
  // Gather
  int64_t gather_axis = 0;
};

// One input copied into one output.
MovePlan single_copy(const eave::Value* x, const eave::Value* y, const std::vector<Dim>& dims,
                     const std::vector<Dim>& src_strides, const std::vector<Dim>& dst_strides,
                     Dim src_base = Dim(0)) {
  MovePlan m;
  m.inputs = {x};
  m.outputs = {y};
  m.copies.push_back(make_copy(0, 1, dims, src_strides, dst_strides, src_base));
  return m;
}

std::optional<MovePlan> plan_transpose(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  size_t rank = x->shape().rank();
  std::vector<int64_t> perm;
  if (n.has_attr("perm")) {
    auto p = norm_axes(n.attr_ints("perm"), int64_t(rank));
    if (!p || p->size() != rank) return std::nullopt;
    perm = *p;
  } else {
    for (size_t d = rank; d-- > 0;) perm.push_back(int64_t(d));
  }
  std::vector<Dim> in_st = strides_of(x->shape()), dims, s;
  for (int64_t p : perm) {
    dims.push_back(x->shape()[size_t(p)]);
    s.push_back(in_st[size_t(p)]);
  }
  return single_copy(x, y, dims, s, strides_of(y->shape()));
}

std::optional<MovePlan> plan_concat(const Node& n) {
  const eave::Value* y = n.output(0);
  int64_t rank = int64_t(y->shape().rank());
  if (rank == 0) return std::nullopt;
  int64_t axis = n.attr_int("axis", n.opset() < 4 ? 1 : 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  MovePlan m;
  m.outputs = {y};
  std::vector<Dim> out_st = strides_of(y->shape());
  Dim at(0);
  for (size_t i = 0; i < n.num_inputs(); ++i) {
    const eave::Value* x = n.input(i);
    if (!movable(x) || int64_t(x->shape().rank()) != rank || x->dtype() != y->dtype()) return std::nullopt;
    m.inputs.push_back(x);
  }
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const Shape& xs = m.inputs[i]->shape();
    m.copies.push_back(make_copy(i, m.inputs.size(), xs.dims(), strides_of(xs), out_st, Dim(0),
                                 at * out_st[size_t(axis)]));
    at = at + xs[size_t(axis)];
  }
  return m;
}

std::optional<MovePlan> plan_split(const Node& n) {
  const eave::Value* x = n.input(0);
  int64_t rank = int64_t(x->shape().rank());
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  // Sizes come from the outputs' inferred shapes; a sizes input must then be a constant (so
  // the shapes are what it says).
  if (n.opset() >= 13 && n.input(1) && !n.input(1)->is_constant()) return std::nullopt;
  MovePlan m;
  m.inputs = {x};
  std::vector<Dim> in_st = strides_of(x->shape());
  Dim at(0);
  for (size_t k = 0; k < n.num_outputs(); ++k) {
    const eave::Value* y = n.output(k);
    if (!is_tensor(y) || int64_t(y->shape().rank()) != rank) return std::nullopt;
    m.outputs.push_back(y);
    m.copies.push_back(make_copy(0, 1 + k, y->shape().dims(), in_st, strides_of(y->shape()),
                                 at * in_st[size_t(axis)]));
    at = at + y->shape()[size_t(axis)];
  }
  if (at != x->shape()[size_t(axis)]) return std::nullopt;
  return m;
}

std::optional<MovePlan> plan_slice(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  int64_t rank = int64_t(x->shape().rank());
  std::vector<int64_t> starts, axes, steps;
  if (n.opset() < 10) {
    starts = n.attr_ints("starts");
    axes = n.attr_ints("axes", std::vector<int64_t>{});
  } else {
    // Ends only decide the output's extent, which shape inference gives; starts, axes and
    // steps must be constants.
    auto s = const_ints(n.input(1));
    if (!s) return std::nullopt;
    starts = *s;
    if (n.input(3)) {
      auto a = const_ints(n.input(3));
      if (!a) return std::nullopt;
      axes = *a;
    }
    if (n.input(4)) {
      auto st = const_ints(n.input(4));
      if (!st) return std::nullopt;
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  auto na = norm_axes(axes, rank);
  if (!na || na->size() != starts.size() || steps.size() != starts.size()) return std::nullopt;
  std::vector<Dim> in_st = strides_of(x->shape()), s = in_st;
  std::vector<Dim> dims = y->shape().dims();
  Dim base(0);
  for (size_t i = 0; i < na->size(); ++i) {
    size_t a = size_t((*na)[i]);
    const Dim& len = x->shape()[a];
    int64_t st = steps[i], b = starts[i];
    if (st == 0) return std::nullopt;
    Dim first;
    const Dim& extent = y->shape()[a];
    if (len.is_const() && !extent.is_const() && st < 0) return std::nullopt;
    if (len.is_const() && (extent.is_const() || st < 0)) {
      int64_t nn = len.value();
      if (b < 0) b += nn;
      first = Dim(st > 0 ? std::clamp<int64_t>(b, 0, nn) : std::clamp<int64_t>(b, -1, nn - 1));
    } else if (st > 0) {
      if (len.is_const()) first = Dim(std::clamp<int64_t>(b < 0 ? b + len.value() : b, 0, len.value()));
      else first = b >= 0 ? Dim(b) : Dim::max(len + Dim(b), Dim(0));
      // Shape inference assumes a symbolic axis is as long as the constants slicing it, and a
      // symbolic end to lie within the axis; the kernel never reads past the actual axis,
      // whatever the output's extent.
      dims[a] = Dim::min(dims[a], Dim::ceildiv(Dim::max(len - first, Dim(0)), Dim(st)));
    } else {
      return std::nullopt;
    }
    base = base + first * in_st[a];
    s[a] = in_st[a] * Dim(st);
  }
  return single_copy(x, y, dims, s, strides_of(y->shape()), base);
}

std::optional<MovePlan> plan_expand(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  const Shape& xs = x->shape();
  const Shape& ys = y->shape();
  if (ys.rank() < xs.rank()) return std::nullopt;
  size_t shift = ys.rank() - xs.rank();
  std::vector<Dim> in_st = strides_of(xs), s(ys.rank(), Dim(0));
  for (size_t d = 0; d < xs.rank(); ++d) {
    if (xs[d] == ys[shift + d]) s[shift + d] = in_st[d];
    else if (xs[d] != Dim(1)) return std::nullopt;  // broadcast only from a known 1
  }
  return single_copy(x, y, ys.dims(), s, strides_of(ys));
}

std::optional<MovePlan> plan_tile(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  auto reps = const_ints(n.input(1));
  const Shape& xs = x->shape();
  if (!reps || reps->size() != xs.rank()) return std::nullopt;
  // The output viewed as [r0, d0, r1, d1, ...]: repeats read with stride 0.
  std::vector<Dim> in_st = strides_of(xs), dims, s;
  for (size_t d = 0; d < xs.rank(); ++d) {
    if ((*reps)[d] < 0) return std::nullopt;
    dims.push_back(Dim((*reps)[d]));
    s.push_back(Dim(0));
    dims.push_back(xs[d]);
    s.push_back(in_st[d]);
  }
  return single_copy(x, y, dims, s, strides_of(dims));
}

// DepthToSpace and SpaceToDepth: the output viewed as 6-D, read with the strides of the input
// element each position comes from (reference/shape.cc's index maps).
std::optional<MovePlan> plan_depth_space(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  const Shape& xs = x->shape();
  const Shape& ys = y->shape();
  int64_t b = n.attr_int("blocksize", 0);
  if (xs.rank() != 4 || ys.rank() != 4 || b <= 0) return std::nullopt;
  Dim B(b);
  Dim N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  Dim HW = H * W, CHW = C * HW;
  std::vector<Dim> dims, s;
  if (n.kind() == OpKind::DepthToSpace) {
    if (!C.is_const() || C.value() % (b * b) != 0) return std::nullopt;
    Dim Cout(C.value() / (b * b));
    bool crd = n.attr_string("mode", "DCR") == "CRD";
    // Output (n, c, h, i, w, j) = y[n, c, h*b + i, w*b + j].
    dims = {N, Cout, H, B, W, B};
    if (crd) s = {CHW, B * B * HW, W, B * HW, Dim(1), HW};
    else s = {CHW, HW, W, B * Cout * HW, Dim(1), Cout * HW};
  } else {
    // Output (n, i, j, c, h, w) = y[n, (i*b + j)*C + c, h, w] = x[n, c, h*b + i, w*b + j].
    dims = {N, B, B, C, ys[2], ys[3]};
    s = {CHW, W, Dim(1), HW, B * W, B};
  }
  Dim numel(1);
  for (const Dim& d : dims) numel = numel * d;
  if (numel != ys.numel()) return std::nullopt;
  return single_copy(x, y, dims, s, strides_of(dims));
}

std::optional<MovePlan> plan_pad(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* y = n.output(0);
  int64_t rank = int64_t(x->shape().rank());
  if (rank == 0) return std::nullopt;
  MovePlan m;
  m.kind = MovePlan::Kind::Pad;
  m.inputs = {x};
  m.outputs = {y};
  std::string mode = n.attr_string("mode", "constant");
  if (mode == "constant") m.pad_mode = MovePlan::PadMode::Constant;
  else if (mode == "edge") m.pad_mode = MovePlan::PadMode::Edge;
  else if (mode == "reflect") m.pad_mode = MovePlan::PadMode::Reflect;
  else if (mode == "wrap") m.pad_mode = MovePlan::PadMode::Wrap;
  else return std::nullopt;
  std::vector<int64_t> pads, axes;
  if (n.opset() < 11) {
    pads = n.attr_ints(n.opset() < 2 ? "paddings" : "pads");
    m.pad_value = n.attr_float("value", 0.0f);
  } else {
    auto p = const_ints(n.input(1));
    if (!p) return std::nullopt;
    pads = *p;
    if (const eave::Value* cv = n.input(2)) {
      if (!is_tensor(cv) || cv->dtype() != x->dtype() || cv->shape().numel() != Dim(1)) return std::nullopt;
      m.inputs.push_back(cv);
      m.pad_value_input = true;
    }
    if (n.opset() >= 18 && n.input(3)) {
      auto a = const_ints(n.input(3));
      if (!a) return std::nullopt;
      auto na = norm_axes(*a, rank);
      if (!na) return std::nullopt;
      axes = *na;
    }
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  if (pads.size() != 2 * axes.size()) return std::nullopt;
  std::vector<int64_t> begin(size_t(rank), 0), end(size_t(rank), 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    begin[size_t(axes[i])] = pads[i];
    end[size_t(axes[i])] = pads[i + axes.size()];
  }
  for (size_t d = 0; d < size_t(rank); ++d) {
    const Dim& len = x->shape()[d];
    int64_t from = std::max<int64_t>(0, -begin[d]);
    Dim keep = len - Dim(from) - Dim(std::max<int64_t>(0, -end[d]));
    if (keep.is_const() && keep.value() < 0) return std::nullopt;
    if (!keep.is_const() && (begin[d] < 0 || end[d] < 0)) return std::nullopt;  // keep >= 0 unproven
    // Edge, reflect and wrap read the kept region: it must not be empty where the axis grows.
    bool grows = begin[d] > 0 || end[d] > 0;
    if (m.pad_mode != MovePlan::PadMode::Constant && grows && !(keep.is_const() && keep.value() > 0))
      return std::nullopt;
    m.pad_lo.push_back(Dim(std::max<int64_t>(0, begin[d])));
    m.pad_keep.push_back(keep);
    m.pad_from.push_back(Dim(from));
  }
  return m;
}

std::optional<MovePlan> plan_gather(const Node& n) {
  const eave::Value* x = n.input(0);
  const eave::Value* idx = n.input(1);
  const eave::Value* y = n.output(0);
  int64_t rank = int64_t(x->shape().rank());
  if (rank == 0 || !idx || !idx->is_constant()) return std::nullopt;
  int64_t axis = n.attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  const Tensor& t = *idx->constant();
  if (t.dtype() != DType::I64 && t.dtype() != DType::I32) return std::nullopt;
  // Every index is checked here, so the kernel cannot read out of bounds.
  const Dim& len = x->shape()[size_t(axis)];
  if (!len.is_const()) return std::nullopt;
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t v = t.as_int(i);
    if (v < -len.value() || v >= len.value()) return std::nullopt;
  }
  MovePlan m;
  m.kind = MovePlan::Kind::Gather;
  m.inputs = {x, idx};
  m.outputs = {y};
  m.gather_axis = axis;
  return m;
}

std::optional<MovePlan> plan(const Node& n) {
  const eave::Value* x = n.input(0);
  if (!movable(x) || n.num_outputs() == 0) return std::nullopt;
  for (const eave::Value* y : n.outputs())
    if (!y || !movable(y) || y->dtype() != x->dtype()) return std::nullopt;
  switch (n.kind()) {
    case OpKind::Transpose: return plan_transpose(n);
    case OpKind::Concat: return plan_concat(n);
    case OpKind::Split: return plan_split(n);
    case OpKind::Slice: return plan_slice(n);
    case OpKind::Expand: return plan_expand(n);
    case OpKind::Tile: return plan_tile(n);
    case OpKind::DepthToSpace:
    case OpKind::SpaceToDepth: return plan_depth_space(n);
    case OpKind::Pad: return plan_pad(n);
    case OpKind::Gather: return plan_gather(n);
    default: return std::nullopt;
  }
}

// ---------------------------------------------------------------- kernels

constexpr int64_t kBlock = 16;  // transpose blocks: kBlock x kBlock elements

// dst[d0 + j] = src[s0 + j] for j in [0, len): vectors, then a masked tail.
void copy_run(KernelBuilder& kb, Value src, Value s0, Value dst, Value d0, const Dim& len, int64_t lanes) {
  vector_run(kb, len, lanes, 1, {}, {}, [&](ValueRange, Value i, Value mask) {
    kb.store(kb.load(src, kb.add(s0, i), lanes, mask), dst, kb.add(d0, i), mask);
    return SmallVector<Value>{};
  });
}

// dst[d0 + j] = v for j in [0, len) (v a scalar).
void fill_run(KernelBuilder& kb, Value v, Value dst, Value d0, const Dim& len, int64_t lanes) {
  Value vec = kb.broadcast(v, lanes);
  vector_run(kb, len, lanes, 1, {}, {}, [&](ValueRange, Value i, Value mask) {
    kb.store(vec, dst, kb.add(d0, i), mask);
    return SmallVector<Value>{};
  });
}

// Offsets of the multi-index `row` over dims `dims` (the row's dims, outermost first).
std::pair<Value, Value> offsets(KernelBuilder& kb, const std::vector<CopyDim>& dims, Value row,
                                Value s0, Value d0) {
  Value rest = row;
  for (size_t i = dims.size(); i-- > 0;) {
    Value idx = i == 0 ? rest : kb.rem(rest, kb.dim(dims[i].size));
    if (i > 0) rest = kb.div(rest, kb.dim(dims[i].size));
    s0 = kb.add(s0, kb.mul(idx, kb.dim(dims[i].src)));
    d0 = kb.add(d0, kb.mul(idx, kb.dim(dims[i].dst)));
  }
  return {s0, d0};
}

Dim product(const std::vector<CopyDim>& dims) {
  Dim p(1);
  for (const CopyDim& d : dims) p = p * d.size;
  return p;
}

// How a copy is split into tile rows.
struct CopyTiling {
  std::vector<CopyDim> row_dims;  // dims enumerated by the row index
  CopyDim last;                   // the innermost run
  std::optional<CopyDim> blocked; // the transpose path: the source-contiguous dim, in blocks
  Dim rows, tiles;
};

CopyTiling tiling_of(const Copy& c) {
  CopyTiling t;
  t.last = c.dims.back();
  std::vector<CopyDim> outer(c.dims.begin(), c.dims.end() - 1);
  if (t.last.dst == Dim(1) && t.last.src != Dim(1) && t.last.src != Dim(0)) {
    // Strided reads: block with the dim that is contiguous in the source, if any.
    for (size_t i = outer.size(); i-- > 0;) {
      if (outer[i].src == Dim(1)) {
        t.blocked = outer[i];
        outer.erase(outer.begin() + long(i));
        // The block index is the fastest-varying part of the row index.
        outer.push_back({Dim::ceildiv(t.blocked->size, Dim(kBlock)), Dim(0), Dim(0)});
        break;
      }
    }
  }
  t.row_dims = outer;
  t.rows = product(outer);
  Dim work = t.last.size * (t.blocked ? Dim(kBlock) : Dim(1));
  t.tiles = row_tiles(t.rows, work);
  return t;
}

void emit_copy(KernelBuilder& kb, const Copy& c, const CopyTiling& t, Value tile_lo, Value tile_hi,
               Value src, Value dst, int64_t lanes) {
  // This copy's tiles are [0, tiles) of the range [tile_lo, tile_hi) the caller got.
  Value n = kb.dim(t.rows);
  Value tiles = kb.dim(t.tiles);
  Value per_tile = kb.ceil_div(n, kb.max(tiles, kb.index(1)));
  Value lo = kb.max(kb.sub(kb.tile_begin(), tile_lo), kb.index(0));
  Value hi = kb.min(kb.sub(kb.tile_end(), tile_lo), kb.sub(tile_hi, tile_lo));
  Value r0 = kb.min(kb.mul(lo, per_tile), n), r1 = kb.min(kb.mul(hi, per_tile), n);
  Value sb = kb.dim(c.src_base), db = kb.dim(c.dst_base);
  kb.loop(r0, r1, kb.index(1), [&](Value row) {
    if (t.blocked) {
      std::vector<CopyDim> dims(t.row_dims.begin(), t.row_dims.end() - 1);
      Value nb = kb.dim(t.row_dims.back().size);
      auto [s0, d0] = offsets(kb, dims, kb.div(row, nb), sb, db);
      Value qlen = kb.dim(t.blocked->size);
      Value i0 = kb.mul(kb.rem(row, nb), kb.index(kBlock));
      Value i1 = kb.min(kb.add(i0, kb.index(kBlock)), qlen);
      Value qs = kb.dim(t.blocked->src), qd = kb.dim(t.blocked->dst);
      Value js = kb.dim(t.last.src), jlen = kb.dim(t.last.size);
      kb.loop(kb.index(0), jlen, kb.index(kBlock), [&](Value j0) {
        Value j1 = kb.min(kb.add(j0, kb.index(kBlock)), jlen);
        kb.loop(i0, i1, kb.index(1), [&](Value i) {
          Value si = kb.add(s0, kb.mul(i, qs)), di = kb.add(d0, kb.mul(i, qd));
          kb.loop(j0, j1, kb.index(1), [&](Value j) {
            kb.store(kb.load(src, kb.add(si, kb.mul(j, js)), 0), dst, kb.add(di, j));
          });
        });
      });
      return;
    }
    auto [s0, d0] = offsets(kb, t.row_dims, row, sb, db);
    if (t.last.src == Dim(1) && t.last.dst == Dim(1)) {
      copy_run(kb, src, s0, dst, d0, t.last.size, lanes);
    } else if (t.last.src == Dim(0) && t.last.dst == Dim(1)) {
      fill_run(kb, kb.load(src, s0, 0), dst, d0, t.last.size, lanes);
    } else {
      Value ss = kb.dim(t.last.src), ds = kb.dim(t.last.dst);
      kb.loop(kb.index(0), kb.dim(t.last.size), kb.index(1), [&](Value j) {
        kb.store(kb.load(src, kb.add(s0, kb.mul(j, ss)), 0), dst, kb.add(d0, kb.mul(j, ds)));
      });
    }
  });
}

// Pad: each output row (every axis but the last) either lies outside the kept region on some
// axis (constant mode: filled) or reads one input row; along the last axis, borders around the
// contiguous kept run.
void emit_pad(KernelBuilder& kb, const MovePlan& m, Value x, Value value_buf, Value y, int64_t lanes,
              Dim* tiles) {
  auto& B = kb.b();
  const Shape& ys = m.outputs[0]->shape();
  const Shape& xs = m.inputs[0]->shape();
  size_t rank = ys.rank();
  Dim rows = dims_product(ys, 0, rank - 1);
  const Dim& cols = ys[rank - 1];
  *tiles = row_tiles(rows, cols);
  RowRange range = tile_row_range(kb, rows, *tiles);
  std::vector<Dim> xst = strides_of(xs);
  Type elem = storage_type(B, m.inputs[0]->dtype());
  Value value = value_buf ? kb.load(value_buf, kb.index(0), 0) : kb.constant(elem, m.pad_value);
  bool constant = m.pad_mode == MovePlan::PadMode::Constant;
  // The input index along axis d for output index o (non-constant modes; always in range).
  auto source = [&](size_t d, Value o) -> Value {
    Value c = kb.sub(o, kb.dim(m.pad_lo[d]));
    Value keep = kb.dim(m.pad_keep[d]);
    Value zero = kb.index(0);
    Value inside = arith::AndIOp::create(B, arith::CmpIOp::create(B, arith::CmpIPredicate::sge, c, zero),
                                         kb.lt(c, keep));
    Value mapped;
    switch (m.pad_mode) {
      case MovePlan::PadMode::Edge:
        mapped = kb.max(kb.min(c, kb.sub(keep, kb.index(1))), zero);
        break;
      case MovePlan::PadMode::Wrap: {
        Value r = arith::RemSIOp::create(B, c, keep);
        mapped = kb.select(kb.lt(r, zero), kb.add(r, keep), r);
        break;
      }
      default: {  // Reflect: period 2(keep - 1), no repeated edge
        Value period = kb.mul(kb.sub(keep, kb.index(1)), kb.index(2));
        Value p = kb.max(period, kb.index(1));
        Value r = arith::RemSIOp::create(B, c, p);
        r = kb.select(kb.lt(r, zero), kb.add(r, p), r);
        r = kb.select(kb.lt(r, keep), r, kb.sub(p, r));
        mapped = kb.select(kb.eq(period, zero), zero, r);
        break;
      }
    }
    return kb.add(kb.select(inside, c, mapped), kb.dim(m.pad_from[d]));
  };
  Value ncols = kb.dim(cols);
  kb.loop(range.begin, range.end, kb.index(1), [&](Value row) {
    Value rest = row;
    Value s0 = kb.index(0);
    Value inside = arith::ConstantIntOp::create(B, 1, 1);
    for (size_t d = rank - 1; d-- > 0;) {
      Value o = d == 0 ? rest : kb.rem(rest, kb.dim(ys[d]));
      if (d > 0) rest = kb.div(rest, kb.dim(ys[d]));
      Value si;
      if (constant) {
        Value c = kb.sub(o, kb.dim(m.pad_lo[d]));
        Value in = arith::AndIOp::create(B, arith::CmpIOp::create(B, arith::CmpIPredicate::sge, c, kb.index(0)),
                                         kb.lt(c, kb.dim(m.pad_keep[d])));
        inside = arith::AndIOp::create(B, inside, in);
        si = kb.add(c, kb.dim(m.pad_from[d]));
      } else {
        si = source(d, o);
      }
      s0 = kb.add(s0, kb.mul(si, kb.dim(xst[d])));
    }
    Value d0 = kb.mul(row, ncols);
    size_t last = rank - 1;
    Value lo = kb.min(kb.dim(m.pad_lo[last]), ncols);
    Value hi = kb.min(kb.add(lo, kb.dim(m.pad_keep[last])), ncols);
    Value from = kb.add(s0, kb.dim(m.pad_from[last]));
    auto row_copy = [&] {
      // [0, lo) and [hi, cols): constant, or mapped elements; [lo, hi): the kept run.
      auto border = [&](Value a, Value b) {
        if (constant) {
          kb.loop(a, b, kb.index(1), [&](Value j) { kb.store(value, y, kb.add(d0, j)); });
        } else {
          kb.loop(a, b, kb.index(1), [&](Value j) {
            kb.store(kb.load(x, kb.add(s0, source(last, j)), 0), y, kb.add(d0, j));
          });
        }
      };
      border(kb.index(0), lo);
      Value n = kb.sub(hi, lo);
      Value nfull = kb.sub(n, kb.rem(n, kb.index(lanes)));
      kb.loop(kb.index(0), nfull, kb.index(lanes), [&](Value i) {
        kb.store(kb.load(x, kb.add(from, i), lanes), y, kb.add(kb.add(d0, lo), i));
      });
      Value mask = kb.mask(lanes, kb.sub(n, nfull));
      kb.store(kb.load(x, kb.add(from, nfull), lanes, mask), y, kb.add(kb.add(d0, lo), nfull), mask);
      border(hi, ncols);
    };
    if (!constant) {
      row_copy();
      return;
    }
    kb.if_else(inside, {}, [&] {
      row_copy();
      return SmallVector<Value>{};
    }, [&] {
      Value vec = kb.broadcast(value, lanes);
      kb.loop(kb.index(0), ncols, kb.index(lanes), [&](Value i) {
        kb.store(vec, y, kb.add(d0, i), kb.mask(lanes, kb.sub(ncols, i)));
      });
      return SmallVector<Value>{};
    });
  });
}

// Gather with constant, in-range indices: rows (o, j) copy data[o, idx[j], :].
void emit_gather(KernelBuilder& kb, const MovePlan& m, Value x, Value idx, Value y, int64_t lanes, Dim* tiles) {
  auto& B = kb.b();
  const Shape& xs = m.inputs[0]->shape();
  size_t axis = size_t(m.gather_axis);
  Dim outer = dims_product(xs, 0, axis);
  Dim inner = dims_product(xs, axis + 1, xs.rank());
  Dim count = m.inputs[1]->shape().numel();
  const Dim& len = xs[axis];
  Dim rows = outer * count;
  *tiles = row_tiles(rows, inner);
  RowRange range = tile_row_range(kb, rows, *tiles);
  Value cnt = kb.dim(count), n = kb.dim(len), in = kb.dim(inner);
  kb.loop(range.begin, range.end, kb.index(1), [&](Value r) {
    Value o = kb.div(r, cnt), j = kb.rem(r, cnt);
    Value v = kb.load(idx, j, 0);
    Value k = arith::IndexCastOp::create(B, B.getIndexType(), v);
    k = kb.select(kb.lt(k, kb.index(0)), kb.add(k, n), k);
    Value s0 = kb.mul(kb.add(kb.mul(o, n), k), in);
    copy_run(kb, x, s0, y, kb.mul(r, in), inner, lanes);
  });
}

}  // namespace

bool lowers_data_movement(const Node& n) { return plan(n).has_value(); }

LoweredKernel lower_data_movement(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  const Node& n = *d.anchor();
  EAVE_CHECK(d.nodes.size() == 1, n.describe(), ": data movement takes no fused consumers");
  MovePlan m = *plan(n);
  // Operands: the inputs, then the node outputs the dispatch produces.
  std::vector<const eave::Value*> operands = m.inputs;
  std::vector<int> operand_of_output;
  for (const eave::Value* y : m.outputs) {
    bool wanted = std::find(d.outputs.begin(), d.outputs.end(), y) != d.outputs.end();
    operand_of_output.push_back(wanted ? int(operands.size()) : -1);
    if (wanted) operands.push_back(y);
  }
  KernelBuilder kb(lc, name, operands);
  int64_t lanes = kb.lanes_for({storage_type(kb.b(), m.inputs[0]->dtype())});
  Dim tiles;
  switch (m.kind) {
    case MovePlan::Kind::Pad:
      emit_pad(kb, m, kb.buffer(0), m.pad_value_input ? kb.buffer(1) : Value(), kb.buffer(operands.size() - 1),
               lanes, &tiles);
      break;
    case MovePlan::Kind::Gather:
      emit_gather(kb, m, kb.buffer(0), kb.buffer(1), kb.buffer(2), lanes, &tiles);
      break;
    case MovePlan::Kind::Copies: {
      // Each copy gets its own range of tiles.
      Dim at(0);
      for (Copy c : m.copies) {
        size_t out_index = c.dst >= m.inputs.size() ? c.dst - m.inputs.size() : 0;
        size_t src = c.src, dst = c.dst;
        if (c.dst >= m.inputs.size()) {
          if (operand_of_output[out_index] < 0) continue;  // an unused output
          dst = size_t(operand_of_output[out_index]);
        }
        simplify(c);
        CopyTiling t = tiling_of(c);
        Dim end = at + t.tiles;
        emit_copy(kb, c, t, kb.dim(at), kb.dim(end), kb.buffer(src), kb.buffer(dst), lanes);
        at = end;
      }
      tiles = at;
      break;
    }
  }
  return kb.finish(tiles);
}

}  // namespace eave::lowering
