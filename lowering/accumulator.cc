// The accumulators of accumulator.h: the stack buffer, the structured step and its schedules.
#include "lowering/accumulator.h"

#include <optional>

#include "codegen/register_tile.h"
#include "codegen/schedule.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

const char* const kStatic = "reduce_steps";

std::string masked_name(int64_t width) { return "reduce_steps_masked_w" + std::to_string(width); }

// Steps one at a time; each step's [1, w] block vectorized (a mask of `masked_width` lanes when
// w is known only at run time); the accumulators' read and write, the same in every step,
// hoisted out of the loop so that it carries them in registers. The multi-reduction over the
// one-step dim folds into the combining op itself.
std::string schedule_text(const std::string& name, int64_t masked_width) {
  const std::string any = "!transform.any_op";
  std::string s = codegen::match_scheduled_ops("%red", "linalg.generic", name) +
                  "%step, %steps = transform.structured.tile_using_for %red tile_sizes [1] : (" +
                  any + ") -> (" + any + ", " + any + ")\n";
  // Only the tagged steps: the other schedules' ops in the function are theirs to vectorize.
  s += "transform.structured.vectorize %step";
  if (masked_width > 0) s += " vector_sizes [1, " + std::to_string(masked_width) + "]";
  s += " : " + any + "\n" + codegen::fold_and_hoist("%red_func");
  for (const char* set : {"vector.lower_multi_reduction lowering_strategy = \"innerparallel\"",
                          "vector.cast_away_vector_leading_one_dim", "vector.lower_masked_transfers",
                          "vector.transfer_permutation_patterns",
                          "vector.lower_transfer max_transfer_rank = 1", "vector.lower_shape_cast",
                          "vector.lower_broadcast", "canonicalization"})
    s += codegen::apply_patterns("%hoisted", {set});
  return s;
}

}  // namespace

Accumulator::Accumulator(KernelBuilder& kb, Type elem, int64_t vectors, int64_t lanes)
    : kb_(kb), vectors_(vectors), lanes_(lanes) {
  EAVE_CHECK(vectors >= 1 && lanes >= 1, "accumulator: ", vectors, " x ", lanes);
  buf_ = kb.stack(MemRefType::get({vectors, lanes}, elem));
}

void Accumulator::set(ArrayRef<Value> vectors) {
  EAVE_CHECK(int64_t(vectors.size()) == vectors_, "accumulator: set ", vectors.size(), " of ",
             vectors_, " vectors");
  for (int64_t u = 0; u < vectors_; ++u)
    vector::StoreOp::create(kb_.b(), vectors[size_t(u)], buf_, ValueRange{kb_.index(u), kb_.index(0)});
}

SmallVector<Value> Accumulator::get() {
  auto vt = VectorType::get({lanes_}, cast<MemRefType>(buf_.getType()).getElementType());
  SmallVector<Value> vectors;
  for (int64_t u = 0; u < vectors_; ++u)
    vectors.push_back(vector::LoadOp::create(kb_.b(), vt, buf_, ValueRange{kb_.index(u), kb_.index(0)}));
  return vectors;
}

void Accumulator::accumulate(const StridedBlock& x, ArrayRef<const Accumulator*> extra,
                             const Step& step) {
  ImplicitLocOpBuilder& b = kb_.b();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  std::optional<int64_t> width = getConstantIntValue(x.width);
  if (!width) {
    int64_t w = vectors_ * lanes_;
    Value xv = codegen::strided_view(b, x.buffer, x.offset, {x.steps, x.width}, {x.stride, one});
    generic(xv, extra, [&](Value buf) {
      Value flat = memref::CollapseShapeOp::create(b, buf, ArrayRef<ReassociationIndices>{{0, 1}});
      return Value(memref::SubViewOp::create(b, flat, ArrayRef{zero}, ArrayRef{x.width}, ArrayRef{one}));
    }, masked_name(w), w, step);
    return;
  }
  EAVE_CHECK(*width <= vectors_ * lanes_, "accumulator: a block of ", *width, " columns for ",
             vectors_, " x ", lanes_, " accumulators");
  const int64_t whole = *width / lanes_, rest = *width % lanes_;
  if (whole > 0) {
    OpFoldResult lanes = b.getIndexAttr(lanes_);
    Value xv = codegen::strided_view(b, x.buffer, x.offset, {x.steps, b.getIndexAttr(whole), lanes},
                                     {x.stride, lanes, one});
    generic(xv, extra, [&](Value buf) {
      return Value(memref::SubViewOp::create(b, buf, ArrayRef{zero, zero},
                                             ArrayRef{OpFoldResult(b.getIndexAttr(whole)), lanes},
                                             ArrayRef{one, one}));
    }, kStatic, 0, step);
  }
  if (rest > 0) {
    Value offset = kb_.add(getValueOrCreateConstantIndexOp(b, b.getLoc(), x.offset),
                           kb_.index(whole * lanes_));
    Value xv = codegen::strided_view(b, x.buffer, offset, {x.steps, b.getIndexAttr(rest)},
                                     {x.stride, one});
    generic(xv, extra, [&](Value buf) {
      SmallVector<OpFoldResult> offsets = {b.getIndexAttr(whole), zero},
                                sizes = {one, b.getIndexAttr(rest)}, strides = {one, one};
      auto type = memref::SubViewOp::inferRankReducedResultType(
          {rest}, cast<MemRefType>(buf.getType()), offsets, sizes, strides);
      return Value(memref::SubViewOp::create(b, cast<MemRefType>(type), buf, offsets, sizes, strides));
    }, kStatic, 0, step);
  }
}

void Accumulator::generic(Value x_view, ArrayRef<const Accumulator*> extra,
                          const std::function<Value(Value)>& acc_view,
                          const std::string& schedule, int64_t masked_width, const Step& step) {
  ImplicitLocOpBuilder& b = kb_.b();
  MLIRContext* ctx = b.getContext();
  const unsigned rank = unsigned(cast<MemRefType>(x_view.getType()).getRank());
  AffineMap block = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<AffineExpr> columns;
  for (unsigned d = 1; d < rank; ++d) columns.push_back(getAffineDimExpr(d, ctx));
  AffineMap column = AffineMap::get(rank, 0, columns, ctx);

  SmallVector<Value> ins = {x_view};
  for (const Accumulator* e : extra) ins.push_back(acc_view(e->buf_));
  SmallVector<AffineMap> maps = {block};
  maps.append(extra.size(), column);
  maps.push_back(column);
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  iterators[0] = utils::IteratorType::reduction;
  auto op = linalg::GenericOp::create(
      b, TypeRange{}, ins, ValueRange{acc_view(buf_)}, maps, iterators,
      [&](OpBuilder& nb, Location loc, ValueRange args) {
        Value next;
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          next = step(args.front(), args.slice(1, extra.size()), args.back());
        }
        linalg::YieldOp::create(nb, loc, next);
      });
  op->setAttr(codegen::kScheduleAttr, b.getStringAttr(schedule));
  ModuleOp module = kb_.module();
  if (!codegen::has_schedule(module, schedule))
    codegen::add_schedule(module, schedule, schedule_text(schedule, masked_width));
}

}  // namespace eave::lowering
