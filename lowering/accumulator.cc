// The accumulators of accumulator.h: the stack buffer, the structured step and its schedules.
#include "lowering/accumulator.h"

#include "codegen/schedule.h"
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
  const std::string f = "%red_func";
  std::string s = codegen::match_scheduled_ops("%red", "linalg.generic", name) +
                  "%step, %steps = transform.structured.tile_using_for %red tile_sizes [1, 0] : (" +
                  any + ") -> (" + any + ", " + any + ")\n";
  // Only the tagged steps: the other schedules' ops in the function are theirs to vectorize.
  s += "transform.structured.vectorize %step";
  if (masked_width > 0) s += " vector_sizes [1, " + std::to_string(masked_width) + "]";
  s += " : " + any + "\n" +
       codegen::apply_patterns(f, {"memref.fold_memref_alias_ops"}) +
       codegen::apply_patterns(f, {"canonicalization"}) +
       "transform.apply_cse to %red_func : " + any + "\n"
       "%hoisted = transform.structured.hoist_redundant_vector_transfers %red_func : (" + any +
       ") -> " + any + "\n";
  for (const char* set : {"vector.lower_multi_reduction lowering_strategy = \"innerparallel\"",
                          "vector.cast_away_vector_leading_one_dim", "vector.lower_masked_transfers",
                          "vector.transfer_permutation_patterns",
                          "vector.lower_transfer max_transfer_rank = 1", "vector.lower_shape_cast",
                          "vector.lower_broadcast", "canonicalization"})
    s += codegen::apply_patterns("%hoisted", {set});
  return s;
}

}  // namespace

Accumulator::Accumulator(KernelBuilder& kb, Type elem, int64_t width)
    : kb_(kb), buf_(kb.stack(elem, width)), width_(width) {
  EAVE_CHECK(width >= 1, "accumulator: width ", width);
}

void Accumulator::set(ArrayRef<Value> vectors) {
  int64_t off = 0;
  for (Value v : vectors) {
    vector::StoreOp::create(kb_.b(), v, buf_, ValueRange{kb_.index(off)});
    off += cast<VectorType>(v.getType()).getNumElements();
  }
  EAVE_CHECK(off == width_, "accumulator: set ", off, " of ", width_, " elements");
}

SmallVector<Value> Accumulator::get(int64_t lanes) {
  EAVE_CHECK(width_ % lanes == 0, "accumulator: ", width_, " elements in vectors of ", lanes);
  auto vt = VectorType::get({lanes}, cast<MemRefType>(buf_.getType()).getElementType());
  SmallVector<Value> vectors;
  for (int64_t off = 0; off < width_; off += lanes)
    vectors.push_back(vector::LoadOp::create(kb_.b(), vt, buf_, ValueRange{kb_.index(off)}));
  return vectors;
}

Value Accumulator::view(OpFoldResult w) {
  ImplicitLocOpBuilder& b = kb_.b();
  return memref::SubViewOp::create(b, buf_, ArrayRef<OpFoldResult>{b.getIndexAttr(0)},
                                   ArrayRef<OpFoldResult>{w},
                                   ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
}

void Accumulator::accumulate(Value x, ValueRange extra, const Step& step) {
  ImplicitLocOpBuilder& b = kb_.b();
  auto xt = cast<MemRefType>(x.getType());
  EAVE_CHECK(xt.getRank() == 2, "accumulator: the block must be [steps, w]");
  int64_t w = xt.getDimSize(1);
  EAVE_CHECK(ShapedType::isDynamic(w) || w <= width_, "accumulator: a block of ", w,
             " columns for ", width_, " accumulators");
  OpFoldResult size = ShapedType::isDynamic(w) ? OpFoldResult(Value(memref::DimOp::create(b, x, 1)))
                                               : OpFoldResult(b.getIndexAttr(w));
  Value out = view(size);

  MLIRContext* ctx = b.getContext();
  AffineMap block = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap column = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  SmallVector<Value> ins = {x};
  ins.append(extra.begin(), extra.end());
  SmallVector<AffineMap> maps = {block};
  maps.append(extra.size(), column);
  maps.push_back(column);
  auto generic = linalg::GenericOp::create(
      b, TypeRange{}, ins, ValueRange{out}, maps,
      {utils::IteratorType::reduction, utils::IteratorType::parallel},
      [&](OpBuilder& nb, Location loc, ValueRange args) {
        Value next;
        {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          next = step(args.front(), args.slice(1, extra.size()), args.back());
        }
        linalg::YieldOp::create(nb, loc, next);
      });

  std::string name = ShapedType::isDynamic(w) ? masked_name(width_) : kStatic;
  generic->setAttr(codegen::kScheduleAttr, b.getStringAttr(name));
  ModuleOp module = kb_.module();
  if (!codegen::has_schedule(module, name))
    codegen::add_schedule(module, name, schedule_text(name, ShapedType::isDynamic(w) ? width_ : 0));
}

}  // namespace eave::lowering
