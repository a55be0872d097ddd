// Building blocks for the kernels of reduction.cc, normalization.cc and data_movement.cc.
// Their bodies are scf loops around vector loads and stores, written directly: each needs
// several passes over a row, masked tails and dims known only at run time, which are simpler to
// state than to recover from a generic op. The reductions' accumulation loops are the
// exception: structured ops with a schedule (accumulator.h), in the loops built here.
//
// Every operand of such a kernel is a flat 1-D buffer (memref<N x T>, or memref<? x T> whose
// size is the runtime symbol for the value's element count); the kernel does its own index
// arithmetic. Sizes are eave Dims until a loop needs them: dim() turns a Dim into an index
// Value, read from an extra "size carrier" operand whose dynamic dims are bound to the runtime
// symbols of exactly the Dims asked for (the carrier aliases buffer 0 and is never read).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lowering/elementwise_ops.h"
#include "lowering/lowering.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace eave::lowering {

class KernelBuilder {
 public:
  // Starts func.func `name`_body taking one flat buffer per operand (inputs first, then
  // outputs; the step passes them in this order), then the tile range.
  KernelBuilder(LoweringContext& lc, const std::string& name,
                std::vector<const eave::Value*> operands);

  mlir::ImplicitLocOpBuilder& b() { return b_; }
  mlir::MLIRContext* ctx() { return lc_.ctx; }
  const codegen::TargetInfo& target() const { return lc_.info; }
  mlir::Value buffer(size_t i) const { return buffers_.at(i); }
  mlir::Value tile_begin() const { return tile_begin_; }
  mlir::Value tile_end() const { return tile_end_; }
  mlir::ModuleOp module() const { return lc_.module; }
  // A stack buffer of static type `type`, allocated at the top of the body (outside every
  // loop, so that it is allocated once).
  mlir::Value stack(mlir::MemRefType type);

  // ---- index arithmetic (operands of type index)
  mlir::Value index(int64_t v);
  mlir::Value dim(const Dim& d);  // the runtime value of d
  mlir::Value add(mlir::Value x, mlir::Value y);
  mlir::Value sub(mlir::Value x, mlir::Value y);
  mlir::Value mul(mlir::Value x, mlir::Value y);
  mlir::Value min(mlir::Value x, mlir::Value y);
  mlir::Value max(mlir::Value x, mlir::Value y);
  mlir::Value div(mlir::Value x, mlir::Value y);  // x, y >= 0
  mlir::Value rem(mlir::Value x, mlir::Value y);  // x, y >= 0
  mlir::Value ceil_div(mlir::Value x, mlir::Value y);
  mlir::Value lt(mlir::Value x, mlir::Value y);
  mlir::Value eq(mlir::Value x, mlir::Value y);

  // ---- structured control flow
  using LoopBody = std::function<mlir::SmallVector<mlir::Value>(mlir::Value iv, mlir::ValueRange args)>;
  // for (iv = lo; iv < hi; iv += step) carrying `inits`; returns the final values.
  mlir::SmallVector<mlir::Value> loop(mlir::Value lo, mlir::Value hi, mlir::Value step,
                                      mlir::ValueRange inits, const LoopBody& body);
  void loop(mlir::Value lo, mlir::Value hi, mlir::Value step,
            const std::function<void(mlir::Value iv)>& body);
  using Branch = std::function<mlir::SmallVector<mlir::Value>()>;
  mlir::SmallVector<mlir::Value> if_else(mlir::Value cond, mlir::TypeRange types,
                                         const Branch& then_fn, const Branch& else_fn);
  void if_then(mlir::Value cond, const std::function<void()>& then_fn);

  // ---- vectors. `lanes` 0 means a scalar.
  // Lanes of a vector register for the widest of `types` (at least 4: tails are masked).
  int64_t lanes_for(std::initializer_list<mlir::Type> types) const;
  mlir::Type shaped(mlir::Type elem, int64_t lanes);
  // A constant of type `type` (scalar or vector) with every element x.
  mlir::Value constant(mlir::Type type, double x);
  mlir::Value constant_attr(mlir::Type type, mlir::TypedAttr elem);
  mlir::Value broadcast(mlir::Value scalar, int64_t lanes);
  // Lanes [0, valid) set; `valid` may be <= 0 or exceed the lanes.
  mlir::Value mask(int64_t lanes, mlir::Value valid);
  // Elements [off, off + lanes) of a flat buffer; masked-off lanes read 0.
  mlir::Value load(mlir::Value buf, mlir::Value off, int64_t lanes, mlir::Value mask = {});
  void store(mlir::Value v, mlir::Value buf, mlir::Value off, mlir::Value mask = {});
  // Per-lane select between vectors (or scalars) of the same type.
  mlir::Value select(mlir::Value cond, mlir::Value x, mlir::Value y);

  // Loads and converts to the compute type of `t` (f16/bf16 widen to f32, bool to i1).
  TypedValue load_compute(mlir::Value buf, mlir::Value off, int64_t lanes, DType t,
                          mlir::Value mask = {});
  void store_compute(const TypedValue& v, mlir::Value buf, mlir::Value off,
                     mlir::Value mask = {});

  // Ends the body and describes the kernel: the operands as given, then the size carrier.
  LoweredKernel finish(const Dim& tiles);

 private:
  LoweringContext& lc_;
  std::string name_;
  std::vector<const eave::Value*> operands_;
  mlir::ImplicitLocOpBuilder b_;
  mlir::Block* entry_ = nullptr;
  std::vector<mlir::Value> buffers_;
  mlir::Value tile_begin_, tile_end_;
  // Symbolic dims asked for, each with the placeholder finish() replaces by a carrier dim.
  std::vector<std::pair<Dim, mlir::Value>> dims_;
};

// How the rows of a kernel split into tiles: enough rows per tile to amortize waking a thread
// (about kRowTileWork elements of work), at least one tile when there are rows.
Dim row_tiles(const Dim& rows, const Dim& work_per_row);
// The rows [begin, end) of the calling tile range, for `tiles` as row_tiles gave.
struct RowRange {
  mlir::Value begin, end;
};
RowRange tile_row_range(KernelBuilder& kb, const Dim& rows, const Dim& tiles);

// Walks elements [0, len) in vectors of `lanes`: `unroll` independent sets of accumulators
// over blocks of unroll * lanes elements, then one set over single vectors, then a masked tail
// whose off lanes keep their accumulators. step(accs, i, mask) gives the set after the vector
// starting at element i (mask: null but in the tail); merge(a, b) combines two sets (needed
// when unroll > 1); `identity` starts the extra sets. Returns the final set.
using RunStep = std::function<mlir::SmallVector<mlir::Value>(mlir::ValueRange accs, mlir::Value i,
                                                             mlir::Value mask)>;
using RunMerge = std::function<mlir::SmallVector<mlir::Value>(mlir::ValueRange a, mlir::ValueRange b)>;
mlir::SmallVector<mlir::Value> vector_run(KernelBuilder& kb, const Dim& len, int64_t lanes,
                                          int64_t unroll, mlir::ValueRange inits,
                                          mlir::ValueRange identity, const RunStep& step,
                                          const RunMerge& merge = nullptr);

// The column schedule of an op over X viewed as [outer, ..., inner] with `inner` contiguous:
// each (row, column block) pair keeps up to kMaxColumnVectors vectors of consecutive columns
// in registers while it walks the other axes. Threads split the pairs.
constexpr int64_t kMaxColumnVectors = 4;
struct ColumnBlocks {
  int64_t lanes = 0, vectors = 0;
  bool masked = false;  // the last block of a row may be partial
  Dim outer, inner, blocks;
  int64_t block() const { return lanes * vectors; }
};
ColumnBlocks column_blocks(const Dim& outer, const Dim& inner, int64_t lanes);
// One (row, column block) pair: the row, its first column, a mask per vector (null when the
// block is full).
struct ColumnTile {
  mlir::Value row, col;
  mlir::SmallVector<mlir::Value> masks;
};
// Calls body for each pair of the calling tile range; returns the tile count (for
// `work_per_block` elements of work per pair).
Dim for_column_tiles(KernelBuilder& kb, const ColumnBlocks& c, const Dim& work_per_block,
                     const std::function<void(const ColumnTile&)>& body);

// The product of dims [from, to) of a shape.
Dim dims_product(const Shape& s, size_t from, size_t to);

// Elementwise consumers fused after an anchor (a reduction, a normalization): they run on each
// result (scalar or vector, in registers) before it is stored. Their other operands are loaded
// at the result's position: a scalar (one element), a tensor of the output's shape ("full"),
// or, where the anchor allows it, a "row" operand that varies only along the output's trailing
// `row_len` elements (LayerNorm's per-feature parameters have this form).
class FusedEpilogue {
 public:
  // Whether `v` can be an operand of an epilogue on results shaped `out` (row_len: the length
  // of the anchor's rows, or a null Dim pointer when row operands are not allowed).
  static bool operand_ok(const eave::Value* v, const Shape& out, const Dim* row_len);

  FusedEpilogue(const Dispatch& d, const Dim* row_len);
  bool empty() const { return nodes_.empty(); }
  // External operands, to pass as kernel operands (their buffers: bind()).
  const std::vector<const eave::Value*>& operands() const { return operands_; }
  void bind(std::vector<mlir::Value> buffers) { buffers_ = std::move(buffers); }
  // The dispatch's result from the anchor's result `r` (compute type of the anchor's output),
  // whose first element is at flat output offset `off` and row column `col` (for row
  // operands; may be null when there are none); `mask` for vector tails.
  TypedValue apply(KernelBuilder& kb, const TypedValue& r, mlir::Value off, mlir::Value col,
                   mlir::Value mask) const;

 private:
  enum class Kind { Scalar, Full, Row };
  const eave::Value* anchor_out_;
  std::vector<const Node*> nodes_;
  std::vector<const eave::Value*> operands_;
  std::vector<Kind> kinds_;
  std::vector<mlir::Value> buffers_;
};

}  // namespace eave::lowering
