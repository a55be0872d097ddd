// Lowering: fused element-wise dispatches. The whole chain (or DAG) of element-wise nodes of a
// dispatch becomes one linalg.generic over the output's index space: each external input is
// read through a broadcasting indexing map, intermediate results stay in registers, and only
// the final result is stored.
//
// Adjacent output dims that every input reads alike (all following the output, or all
// broadcast) are merged first, so [1,64,56,56] + [64,1,1] is a [64, 3136] loop nest and a
// same-shape op one flat loop. Threads split the first merged dim into tiles of consecutive
// rows; the transform schedule tiles the last one by a vector register, peels the tail and
// vectorizes.
#include <unordered_map>

#include "codegen/schedule.h"
#include "lowering/elementwise_ops.h"
#include "lowering/lowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AffineMap.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

// Elements a tile should cover: large enough to amortize a call, small enough to spread work.
constexpr int64_t kTileElements = 16384;

// How an input reads along one output dim.
enum class Access { Any, Follows, Broadcast };  // Any: the output dim is 1

Access access(const Shape& in, const Shape& out, size_t j) {
  if (out[j] == Dim(1)) return Access::Any;
  size_t lead = out.rank() - in.rank();
  if (j < lead) return Access::Broadcast;
  return in[j - lead] == Dim(1) ? Access::Broadcast : Access::Follows;
}

// The output dims in groups of adjacent dims every input reads alike.
std::vector<std::vector<size_t>> merged_dims(const std::vector<const eave::Value*>& inputs,
                                             const Shape& out) {
  std::vector<std::vector<size_t>> groups;
  std::vector<Access> group_access(inputs.size(), Access::Any);
  for (size_t j = 0; j < out.rank(); ++j) {
    std::vector<Access> here;
    for (const eave::Value* in : inputs) here.push_back(access(in->shape(), out, j));
    bool alike = !groups.empty();
    for (size_t i = 0; i < inputs.size(); ++i)
      alike &= here[i] == Access::Any || group_access[i] == Access::Any || group_access[i] == here[i];
    if (!alike) {
      groups.emplace_back();
      std::fill(group_access.begin(), group_access.end(), Access::Any);
    }
    groups.back().push_back(j);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (here[i] != Access::Any) group_access[i] = here[i];
  }
  return groups;
}

Dim group_size(const Shape& out, const std::vector<size_t>& group) {
  Dim size(1);
  for (size_t j : group) size *= out[j];
  return size;
}

std::string elementwise_schedule_name(size_t rank, int64_t vector, bool peel) {
  return "elementwise_r" + std::to_string(rank) + "_v" + std::to_string(vector) + (peel ? "_peeled" : "");
}

// The schedule of elementwise kernels of merged rank `rank`: one row of `vector` elements at a
// time, vectorized; a tail shorter than a vector, if the last dim may leave one, peeled off and
// left to scalar loops.
std::string elementwise_schedule(const std::string& name, size_t rank, int64_t vector, bool peel) {
  std::string sizes, v = "%ew";
  for (size_t i = 0; i + 1 < rank; ++i) sizes += "1, ";
  sizes += std::to_string(vector);
  std::string any = "!transform.any_op", loops = std::to_string(rank);
  std::string s = "// " + name + ": tiles of [" + sizes + "]" + (peel ? ", tail peeled" : "") +
                  ", vectorized\n";
  s += codegen::match_scheduled_ops(v, "linalg.generic", name);
  s += v + "_tiled, " + v + "_loops:" + loops + " = transform.structured.tile_using_for " + v +
       " tile_sizes [" + sizes + "] : (" + any + ") -> (" + any;
  for (size_t i = 0; i < rank; ++i) s += ", " + any;  // after the tiled op, one per loop
  s += ")\n";
  if (peel) {
    s += v + "_inner = transform.cast " + v + "_loops#" + std::to_string(rank - 1) + " : " + any +
         " to !transform.op<\"scf.for\">\n";
    s += v + "_main, " + v + "_tail = transform.loop.peel " + v +
         "_inner : (!transform.op<\"scf.for\">) -> (" + any + ", " + any + ")\n";
  }
  // Peeling and tiling leave affine.min sizes that fold to constants: fold them so that the
  // full tiles have static shapes, which is what vectorization needs.
  s += codegen::apply_patterns(v + "_func", {"canonicalization"});
  s += v + "_vec = transform.structured.vectorize_children_and_apply_patterns " + v +
       "_func : (" + any + ") -> " + any + "\n";
  s += codegen::apply_patterns(v + "_vec", {"vector.transfer_permutation_patterns",
                                             "vector.lower_transfer max_transfer_rank = 1",
                                             "vector.lower_broadcast", "vector.lower_shape_cast",
                                             "vector.cast_away_vector_leading_one_dim",
                                             "canonicalization"});
  return s;
}

}  // namespace

bool lowers_elementwise(const Node& n) {
  if (!elementwise_supported(n) || !n.output(0)->shape().has_rank()) return false;
  // A dynamic input dim that is not the output's (shape inference took x[A] + y[B] to be [A]):
  // at run time it may be 1 and broadcast, which generated code, reading it as the output's,
  // would get wrong. The runtime builtin checks the shapes it computes against the plan.
  const Shape& out = n.output(0)->shape();
  for (const eave::Value* v : n.inputs()) {
    if (!v) continue;
    const Shape& s = v->shape();
    if (!s.has_rank() || s.rank() > out.rank()) return false;
    for (size_t k = 0; k < s.rank(); ++k)
      if (!s[k].is_const() && s[k] != out[out.rank() - s.rank() + k]) return false;
  }
  return true;
}

LoweredKernel lower_elementwise(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  EAVE_CHECK(d.outputs.size() == 1, d.anchor()->describe(), ": a fused elementwise kernel has ",
             d.outputs.size(), " results; expected one");
  const eave::Value* out = d.outputs[0];
  const Shape& os = out->shape();

  OpBuilder b(lc.ctx);
  Location loc = b.getUnknownLoc();
  b.setInsertionPointToEnd(lc.module.getBody());

  // Operands: the external inputs, then the output.
  std::vector<const eave::Value*> inputs(d.inputs.begin(), d.inputs.end());
  std::vector<const eave::Value*> values = inputs;
  values.push_back(out);
  SmallVector<Type> arg_types;
  for (const eave::Value* v : values) arg_types.push_back(memref_type(b, v));
  arg_types.push_back(b.getIndexType());
  arg_types.push_back(b.getIndexType());
  auto func = func::FuncOp::create(b, loc, name + "_body", b.getFunctionType(arg_types, {}));
  Block* entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  auto arg = [&](size_t i) { return entry->getArgument(unsigned(i)); };

  // Each buffer collapsed to the merged dims; an input's indexing map reads a merged dim or
  // broadcasts it.
  std::vector<std::vector<size_t>> groups = merged_dims(inputs, os);
  int64_t rank = int64_t(groups.size());
  std::vector<Value> bufs;
  SmallVector<AffineMap> maps;
  for (size_t i = 0; i < values.size(); ++i) {
    const Shape& s = values[i]->shape();
    size_t lead = os.rank() - s.rank();
    SmallVector<ReassociationIndices> reassociation;
    SmallVector<AffineExpr> exprs;
    for (size_t g = 0; g < groups.size(); ++g) {
      ReassociationIndices dims;
      bool follows = false;
      for (size_t j : groups[g]) {
        if (j < lead) continue;
        dims.push_back(int64_t(j - lead));
        follows |= i + 1 == values.size() || access(s, os, j) == Access::Follows;
      }
      if (dims.empty()) continue;
      reassociation.push_back(dims);
      exprs.push_back(follows ? b.getAffineDimExpr(unsigned(g)) : b.getAffineConstantExpr(0));
    }
    Value buf = arg(i);
    if (s.rank() > 0 && reassociation.size() < s.rank())
      buf = memref::CollapseShapeOp::create(b, loc, buf, reassociation);
    bufs.push_back(buf);
    maps.push_back(AffineMap::get(unsigned(rank), 0, exprs, lc.ctx));
  }

  // Rows of the first merged dim per tile, from the elements of a row.
  int64_t rows_per_tile = 1;
  if (rank > 0) {
    Dim row(1);
    for (int64_t g = 1; g < rank; ++g) row *= group_size(os, groups[size_t(g)]);
    if (row.is_const()) rows_per_tile = std::max<int64_t>(1, kTileElements / std::max<int64_t>(1, row.value()));

    Value tb = arg(values.size()), te = arg(values.size() + 1);
    Value rpt = arith::ConstantIndexOp::create(b, loc, rows_per_tile);
    Value d0 = memref::DimOp::create(b, loc, bufs.back(), 0);
    Value lo = arith::MinSIOp::create(b, loc, arith::MulIOp::create(b, loc, tb, rpt), d0);
    Value hi = arith::MinSIOp::create(b, loc, arith::MulIOp::create(b, loc, te, rpt), d0);
    Value rows = arith::SubIOp::create(b, loc, hi, lo);
    for (size_t i = 0; i < values.size(); ++i) {
      AffineMap m = maps[i];
      bool sliced = m.getNumResults() == unsigned(rank) && m.getResult(0) == b.getAffineDimExpr(0);
      if (!sliced) continue;
      auto mt = cast<MemRefType>(bufs[i].getType());
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (int64_t k = 0; k < mt.getRank(); ++k) {
        offsets.push_back(k == 0 ? OpFoldResult(lo) : OpFoldResult(b.getIndexAttr(0)));
        if (k == 0) sizes.push_back(rows);
        else if (mt.isDynamicDim(k)) sizes.push_back(Value(memref::DimOp::create(b, loc, bufs[i], k)));
        else sizes.push_back(b.getIndexAttr(mt.getDimSize(k)));
        strides.push_back(b.getIndexAttr(1));
      }
      bufs[i] = memref::SubViewOp::create(b, loc, bufs[i], offsets, sizes, strides);
    }
  }

  SmallVector<utils::IteratorType> iters(size_t(rank), utils::IteratorType::parallel);
  SmallVector<Value> ins(bufs.begin(), bufs.end() - 1);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{}, ValueRange(ins), ValueRange{bufs.back()}, maps, iters,
      [&](OpBuilder& nb, Location nl, ValueRange args) {
        std::unordered_map<const eave::Value*, TypedValue> env;
        for (size_t i = 0; i + 1 < values.size(); ++i)
          env[values[i]] = from_storage(nb, nl, args[i], values[i]->dtype());
        for (const Node* n : d.nodes) {
          std::vector<TypedValue> operands;
          for (const eave::Value* v : n->inputs()) operands.push_back(v ? env.at(v) : TypedValue{});
          env[n->output(0)] = build_elementwise(nb, nl, *n, operands);
        }
        linalg::YieldOp::create(nb, nl, to_storage(nb, nl, env.at(out)));
      });
  func::ReturnOp::create(b, loc);

  // The vector: a register of the widest element the kernel loads or stores. An element that
  // is not a number has no vector: such a kernel stays loops.
  unsigned widest = 0;
  bool numbers = true;
  for (const eave::Value* v : values) {
    Type t = storage_type(b, v->dtype());
    numbers &= t.isIntOrFloat();
    if (numbers) widest = std::max(widest, t.getIntOrFloatBitWidth());
  }
  if (rank > 0 && numbers) {
    int64_t bits = lc.info.simd_bits > 0 ? lc.info.simd_bits : 128;
    int64_t vector = std::max<int64_t>(1, bits / widest);
    // The last merged dim's length, unless it is unknown: dynamic, or the first dim too (then
    // thread tiles cut it).
    Dim last = group_size(os, groups.back());
    bool known = rank > 1 && last.is_const();
    bool peel = !known || last.value() % vector != 0;
    if (known && last.value() <= vector) {  // the whole row is one vector
      vector = std::max<int64_t>(1, last.value());
      peel = false;
    }
    std::string schedule = elementwise_schedule_name(size_t(rank), vector, peel);
    generic->setAttr(codegen::kScheduleAttr, b.getStringAttr(schedule));
    if (!codegen::has_schedule(lc.module, schedule))
      codegen::add_schedule(lc.module, schedule, elementwise_schedule(schedule, size_t(rank), vector, peel));
  }

  LoweredKernel k;
  k.binding.body = name + "_body";
  k.binding.symbol = name;
  for (size_t i = 0; i < values.size(); ++i) {
    k.binding.operands.push_back(binding_operand(lc, int(i), values[i]));
    k.operands.push_back(const_cast<eave::Value*>(values[i]));
  }
  k.tiles = rank > 0 ? Dim::ceildiv(group_size(os, groups[0]), Dim(rows_per_tile)) : Dim(1);
  return k;
}

}  // namespace eave::lowering
