// The register tile of register_tile.h: its stack tile, its structured product and the
// schedule that makes that product the kernel's inner loop.
#include "codegen/register_tile.h"

#include <algorithm>

#include "codegen/schedule.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "support/error.h"

namespace eave::codegen {

using namespace mlir;

namespace {

std::string schedule_name(int64_t unroll) { return "register_tile_u" + std::to_string(unroll); }

// The K loop one step at a time, each step's [rows x 1] · [1 x width] product vectorized; the
// tile's transfers, the same in every step, hoisted out of the loop (and out of the loops
// around it that only add steps: the tile stays in registers); the contraction lowered to
// outer products, which are a broadcast of A's element and one FMA per vector of B's row; the
// K loop unrolled `unroll` times (fewer loop-counter µops competing with the FMAs for ports).
std::string schedule_text(int64_t unroll) {
  const std::string any = "!transform.any_op", name = schedule_name(unroll);
  const std::string k_marker = "eave_" + name + "_k";
  std::string s =
      match_scheduled_ops("%mm", "linalg.matmul", name) +
      "%tiled, %k = transform.structured.tile_using_for %mm tile_sizes [0, 0, 1] : (" + any +
      ") -> (" + any + ", " + any + ")\n"
      // Found again after vectorization, which replaces the function's handles.
      "transform.annotate %k \"" + k_marker + "\" : " + any + "\n" +
      vectorize_and_hoist("%mm_func");
  // One set of patterns each: all in one set rewrite each other's results forever.
  for (const char* set : {"vector.lower_contraction lowering_strategy = \"outerproduct\"",
                          "vector.lower_outerproduct", "vector.transfer_permutation_patterns",
                          "vector.lower_transfer max_transfer_rank = 1", "vector.lower_transpose",
                          "vector.lower_shape_cast", "vector.lower_broadcast", "canonicalization"})
    s += apply_patterns("%hoisted", {set});
  if (unroll > 1) s += unroll_marked_loops(k_marker, unroll);
  return s;
}

int64_t static_dim(Value m, unsigned d) {
  return llvm::cast<MemRefType>(m.getType()).getDimSize(d);
}

}  // namespace

RegisterTile::RegisterTile(ImplicitLocOpBuilder& b, ModuleOp module, int64_t rows, int64_t width,
                           int64_t lanes, int64_t unroll)
    : module_(module),
      vector_(VectorType::get({lanes}, b.getF32Type())),
      schedule_(schedule_name(std::max<int64_t>(1, unroll))),
      unroll_(std::max<int64_t>(1, unroll)) {
  EAVE_CHECK(rows >= 1 && lanes >= 1 && width >= lanes && width % lanes == 0,
             "register tile: bad shape ", rows, " x ", width, " in vectors of ", lanes);
  tile_ = memref::AllocaOp::create(b, MemRefType::get({rows, width}, b.getF32Type()),
                                   b.getI64IntegerAttr(64));
}

void RegisterTile::set(ImplicitLocOpBuilder& b, ArrayRef<Value> vectors, int64_t rows) const {
  const int64_t n = int64_t(vectors.size()) / rows, lanes = vector_.getDimSize(0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t v = 0; v < n; ++v)
      vector::StoreOp::create(b, vectors[i * n + v], tile_,
                              ValueRange{arith::ConstantIndexOp::create(b, i),
                                         arith::ConstantIndexOp::create(b, v * lanes)});
}

void RegisterTile::accumulate(ImplicitLocOpBuilder& b, Value a, Value panel) const {
  const int64_t rows = static_dim(a, 0), width = static_dim(panel, 1);
  EAVE_CHECK(!ShapedType::isDynamic(rows) && !ShapedType::isDynamic(width) &&
                 rows <= static_dim(tile_, 0) && width <= static_dim(tile_, 1),
             "register tile: a product of ", rows, " x ", width, " does not fit the tile");
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(rows), b.getIndexAttr(width)};
  Value out = memref::SubViewOp::create(b, tile_, ArrayRef{zero, zero}, sizes, ArrayRef{one, one});
  auto mm = linalg::MatmulOp::create(b, ValueRange{a, panel}, ValueRange{out});
  mm->setAttr(kScheduleAttr, b.getStringAttr(schedule_));
  if (!has_schedule(module_, schedule_))
    add_schedule(module_, schedule_, schedule_text(unroll_));
}

namespace {

std::string taps_schedule_name(int64_t kh, int64_t kw) {
  return kh > 0 ? "register_tile_taps_" + std::to_string(kh) + "x" + std::to_string(kw)
                : "register_tile_taps";
}

// One tap at a time: the [rows x width] block of the input under it times its weight (one FMA
// per vector, the weight broadcast), the tile's transfers hoisted out of the tap loops; with
// `kh` x `kw` given, both tap loops unrolled completely, so that LLVM loads an input vector
// once for all the (row, tap) pairs that read it.
std::string taps_schedule_text(int64_t kh, int64_t kw) {
  const std::string any = "!transform.any_op", name = taps_schedule_name(kh, kw);
  const std::string marker = "eave_" + name;
  std::string s =
      match_scheduled_ops("%taps", "linalg.generic", name) +
      "%tap, %kh, %kw = transform.structured.tile_using_for %taps tile_sizes [1, 1] : (" + any +
      ") -> (" + any + ", " + any + ", " + any + ")\n"
      "transform.annotate %kh \"" + marker + "_kh\" : " + any + "\n"
      "transform.annotate %kw \"" + marker + "_kw\" : " + any + "\n" +
      vectorize_and_hoist("%taps_func");
  // The product with one weight is a contraction over unit dims: lowered to vector.fma.
  for (const char* set : {"vector.lower_contraction lowering_strategy = \"parallelarith\"",
                          "vector.cast_away_vector_leading_one_dim",
                          "vector.transfer_permutation_patterns",
                          "vector.lower_transfer max_transfer_rank = 1", "vector.lower_shape_cast",
                          "canonicalization"})
    s += apply_patterns("%hoisted", {set});
  if (kh > 0) s += unroll_marked_loops(marker + "_kw", kw) + unroll_marked_loops(marker + "_kh", kh);
  return s;
}

}  // namespace

void RegisterTile::accumulate_taps(ImplicitLocOpBuilder& b, Value x, Value w, bool unroll) const {
  auto xt = llvm::cast<MemRefType>(x.getType());
  EAVE_CHECK(xt.getRank() == 4 && xt.hasStaticShape() && xt.getDimSize(2) <= static_dim(tile_, 0) &&
                 xt.getDimSize(3) <= static_dim(tile_, 1),
             "register tile: the taps' block does not fit the tile");
  const int64_t kh = xt.getDimSize(0), kw = xt.getDimSize(1);
  MLIRContext* ctx = b.getContext();
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Value out = memref::SubViewOp::create(
      b, tile_, ArrayRef{zero, zero},
      ArrayRef<OpFoldResult>{b.getIndexAttr(xt.getDimSize(2)), b.getIndexAttr(xt.getDimSize(3))},
      ArrayRef{one, one});
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(4, ctx),
                                 AffineMap::get(4, 0, {d(0), d(1)}, ctx),
                                 AffineMap::get(4, 0, {d(2), d(3)}, ctx)};
  auto red = utils::IteratorType::reduction, par = utils::IteratorType::parallel;
  auto op = linalg::GenericOp::create(
      b, TypeRange{}, ValueRange{x, w}, ValueRange{out}, maps, ArrayRef{red, red, par, par},
      [](OpBuilder& nb, Location loc, ValueRange args) {
        Value product = arith::MulFOp::create(nb, loc, args[0], args[1]);
        linalg::YieldOp::create(nb, loc, Value(arith::AddFOp::create(nb, loc, args[2], product)));
      });
  const std::string name = taps_schedule_name(unroll ? kh : 0, kw);
  op->setAttr(kScheduleAttr, b.getStringAttr(name));
  if (!has_schedule(module_, name)) add_schedule(module_, name, taps_schedule_text(unroll ? kh : 0, kw));
}

SmallVector<Value> RegisterTile::get(ImplicitLocOpBuilder& b, int64_t rows, int64_t nvec) const {
  SmallVector<Value> vectors;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t v = 0; v < nvec; ++v)
      vectors.push_back(vector::LoadOp::create(
          b, vector_, tile_,
          ValueRange{arith::ConstantIndexOp::create(b, i),
                     arith::ConstantIndexOp::create(b, v * vector_.getDimSize(0))}));
  return vectors;
}

SmallVector<Value> RegisterTile::multiply(ImplicitLocOpBuilder& b, ArrayRef<Value> init,
                                          int64_t rows, Value a, Value panel) const {
  set(b, init, rows);
  accumulate(b, a, panel);
  return get(b, rows, int64_t(init.size()) / rows);
}

Value strided_view(ImplicitLocOpBuilder& b, Value m, OpFoldResult offset,
                   ArrayRef<OpFoldResult> sizes, ArrayRef<OpFoldResult> strides) {
  // Constants as attributes, so that the op's operands agree with its type.
  auto fold = [&](OpFoldResult f) -> OpFoldResult {
    if (auto c = getConstantIntValue(f)) return b.getIndexAttr(*c);
    return f;
  };
  auto known = [](OpFoldResult f) { return getConstantIntValue(f).value_or(ShapedType::kDynamic); };
  SmallVector<OpFoldResult> sz, st;
  SmallVector<int64_t> shape, layout;
  for (OpFoldResult f : sizes) {
    sz.push_back(fold(f));
    shape.push_back(known(f));
  }
  for (OpFoldResult f : strides) {
    st.push_back(fold(f));
    layout.push_back(known(f));
  }
  offset = fold(offset);
  auto type = MemRefType::get(shape, llvm::cast<MemRefType>(m.getType()).getElementType(),
                              StridedLayoutAttr::get(b.getContext(), known(offset), layout));
  return memref::ReinterpretCastOp::create(b, type, m, offset, sz, st);
}

Value matrix_view(ImplicitLocOpBuilder& b, Value m, OpFoldResult offset, OpFoldResult rows,
                  OpFoldResult cols, OpFoldResult row_stride, OpFoldResult col_stride) {
  return strided_view(b, m, offset, {rows, cols}, {row_stride, col_stride});
}

}  // namespace eave::codegen
