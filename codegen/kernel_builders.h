// Small helpers for kernels built directly as scf loops around vector ops (matmul_kernel.cc,
// conv_kernel.cc, window_kernel.cc, batch_matmul_kernel.cc): the kernel function itself,
// structured `for` and `if` with lambdas for their bodies, and index/vector constants.
// Codegen-internal (MLIR includes).
#pragma once

#include <string>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace eave::codegen {

// Adds func.func `name` taking `args` (no results) at the end of `module` and puts the builder
// at the start of its body; returns the entry block (its arguments are the kernel's operands).
inline mlir::Block* begin_kernel_function(mlir::ImplicitLocOpBuilder& b, mlir::ModuleOp module,
                                          const std::string& name, mlir::TypeRange args) {
  b.setInsertionPointToEnd(module.getBody());
  auto func = mlir::func::FuncOp::create(b, name, b.getFunctionType(args, {}));
  mlir::Block* entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  return entry;
}

// The operands of a kernel run over a range of tiles: its own memrefs, then the bias (when it
// has one), the custom epilogue's operands, and the range [tile_begin, tile_end).
struct TiledKernelOperands {
  llvm::SmallVector<mlir::Value> own;
  mlir::Value bias;
  llvm::SmallVector<mlir::Value> extras;
  mlir::Value tile_begin, tile_end;
};

// begin_kernel_function for such a kernel; `bias` is a null type when there is none.
inline TiledKernelOperands begin_tiled_kernel(mlir::ImplicitLocOpBuilder& b, mlir::ModuleOp module,
                                              const std::string& name, mlir::TypeRange own,
                                              mlir::Type bias, mlir::TypeRange extras) {
  llvm::SmallVector<mlir::Type> types(own.begin(), own.end());
  if (bias) types.push_back(bias);
  types.append(extras.begin(), extras.end());
  types.push_back(b.getIndexType());
  types.push_back(b.getIndexType());
  mlir::Block* entry = begin_kernel_function(b, module, name, types);
  TiledKernelOperands ops;
  unsigned next = 0;
  for (size_t i = 0; i < own.size(); ++i) ops.own.push_back(entry->getArgument(next++));
  if (bias) ops.bias = entry->getArgument(next++);
  for (size_t i = 0; i < extras.size(); ++i) ops.extras.push_back(entry->getArgument(next++));
  ops.tile_begin = entry->getArgument(next++);
  ops.tile_end = entry->getArgument(next++);
  return ops;
}

using BodyFn = llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::ImplicitLocOpBuilder&)>;
using LoopBodyFn = llvm::function_ref<llvm::SmallVector<mlir::Value>(
    mlir::ImplicitLocOpBuilder&, mlir::Value iv, mlir::ValueRange iter_args)>;

// `if (cond) {then} else {else}` yielding `types`; `else_fn` may be null when `types` is empty.
inline llvm::SmallVector<mlir::Value> emit_if(mlir::ImplicitLocOpBuilder& b, mlir::Value cond,
                                              mlir::TypeRange types, BodyFn then_fn,
                                              BodyFn else_fn) {
  auto op = mlir::scf::IfOp::create(b, types, cond, /*withElseRegion=*/static_cast<bool>(else_fn));
  auto fill = [&](mlir::Block* block, BodyFn fn) {
    mlir::OpBuilder::InsertionGuard guard(b);
    if (block->empty()) {
      b.setInsertionPointToEnd(block);
      llvm::SmallVector<mlir::Value> results = fn(b);
      mlir::scf::YieldOp::create(b, results);
    } else {
      b.setInsertionPoint(block->getTerminator());
      fn(b);
    }
  };
  fill(op.thenBlock(), then_fn);
  if (else_fn) fill(op.elseBlock(), else_fn);
  return llvm::SmallVector<mlir::Value>(op.getResults());
}

// `for (iv = lb; iv < ub; iv += step)` carrying `inits`; the body returns the values to yield.
inline llvm::SmallVector<mlir::Value> emit_for(mlir::ImplicitLocOpBuilder& b, mlir::Value lb,
                                               mlir::Value ub, mlir::Value step,
                                               mlir::ValueRange inits, LoopBodyFn body) {
  auto loop = mlir::scf::ForOp::create(
      b, lb, ub, step, inits,
      [&](mlir::OpBuilder& nb, mlir::Location loc, mlir::Value iv, mlir::ValueRange args) {
        mlir::ImplicitLocOpBuilder ib(loc, nb);
        llvm::SmallVector<mlir::Value> results = body(ib, iv, args);
        mlir::scf::YieldOp::create(ib, results);
      });
  return llvm::SmallVector<mlir::Value>(loop.getResults());
}

// A loop without carried values.
inline void emit_loop(mlir::ImplicitLocOpBuilder& b, mlir::Value lb, mlir::Value ub,
                      mlir::Value step,
                      llvm::function_ref<void(mlir::ImplicitLocOpBuilder&, mlir::Value)> body) {
  emit_for(b, lb, ub, step, {},
           [&](mlir::ImplicitLocOpBuilder& ib, mlir::Value iv,
               mlir::ValueRange) -> llvm::SmallVector<mlir::Value> {
             body(ib, iv);
             return {};
           });
}

// `switch (rem) { case 1..max_rows-1: body(rows) }` with a static row count per case: the
// tail of a loop over row groups of max_rows, one microkernel per size (nothing for 0).
inline void emit_rows_switch(mlir::ImplicitLocOpBuilder& b, mlir::Value rem, int64_t max_rows,
                             llvm::function_ref<void(int64_t rows)> body) {
  if (max_rows <= 1) return;
  llvm::SmallVector<int64_t> sizes;
  for (int64_t p = 1; p < max_rows; ++p) sizes.push_back(p);
  auto sw = mlir::scf::IndexSwitchOp::create(b, mlir::TypeRange{}, rem, sizes, sizes.size());
  mlir::OpBuilder::InsertionGuard guard(b);
  for (size_t i = 0; i <= sizes.size(); ++i) {
    mlir::Region& region = i < sizes.size() ? sw.getCaseRegions()[i] : sw.getDefaultRegion();
    b.setInsertionPointToEnd(&region.emplaceBlock());
    if (i < sizes.size()) body(sizes[i]);
    mlir::scf::YieldOp::create(b);
  }
}

// Index arithmetic, spelled short because kernels are mostly index arithmetic.
struct IndexOps {
  mlir::ImplicitLocOpBuilder& b;
  mlir::Value c(int64_t v) const { return mlir::arith::ConstantIndexOp::create(b, v); }
  mlir::Value add(mlir::Value x, mlir::Value y) const { return mlir::arith::AddIOp::create(b, x, y); }
  mlir::Value add(mlir::Value x, int64_t y) const { return y == 0 ? x : add(x, c(y)); }
  mlir::Value sub(mlir::Value x, mlir::Value y) const { return mlir::arith::SubIOp::create(b, x, y); }
  mlir::Value mul(mlir::Value x, mlir::Value y) const { return mlir::arith::MulIOp::create(b, x, y); }
  mlir::Value mul(mlir::Value x, int64_t y) const { return y == 1 ? x : mul(x, c(y)); }
  mlir::Value min(mlir::Value x, mlir::Value y) const { return mlir::arith::MinSIOp::create(b, x, y); }
  mlir::Value max(mlir::Value x, mlir::Value y) const { return mlir::arith::MaxSIOp::create(b, x, y); }
  mlir::Value div(mlir::Value x, int64_t y) const {  // x >= 0
    return y == 1 ? x : (mlir::Value)mlir::arith::DivUIOp::create(b, x, c(y));
  }
  mlir::Value rem(mlir::Value x, int64_t y) const {  // x >= 0
    return mlir::arith::RemUIOp::create(b, x, c(y));
  }
  mlir::Value floordiv(mlir::Value x, int64_t y) const {
    return mlir::arith::FloorDivSIOp::create(b, x, c(y));
  }
  mlir::Value ceildiv(mlir::Value x, int64_t y) const {
    return mlir::arith::CeilDivSIOp::create(b, x, c(y));
  }
  mlir::Value lt(mlir::Value x, mlir::Value y) const {
    return mlir::arith::CmpIOp::create(b, mlir::arith::CmpIPredicate::slt, x, y);
  }
  mlir::Value ge(mlir::Value x, mlir::Value y) const {
    return mlir::arith::CmpIOp::create(b, mlir::arith::CmpIPredicate::sge, x, y);
  }
  mlir::Value eq(mlir::Value x, mlir::Value y) const {
    return mlir::arith::CmpIOp::create(b, mlir::arith::CmpIPredicate::eq, x, y);
  }
};

// A vector constant with every lane `v`.
inline mlir::Value splat_f32(mlir::OpBuilder& b, mlir::Location loc, mlir::VectorType vt, float v) {
  return mlir::arith::ConstantOp::create(
      b, loc, mlir::DenseElementsAttr::get(vt, b.getF32FloatAttr(v)));
}

// A vector of type `vt` read from `memref` at `indices`: every lane, or only the lanes `mask`
// selects (a null mask: all), the others 0.
inline mlir::Value load_vector(mlir::ImplicitLocOpBuilder& b, mlir::VectorType vt, mlir::Value memref,
                               mlir::ValueRange indices, mlir::Value mask) {
  if (!mask) return mlir::vector::LoadOp::create(b, vt, memref, indices);
  return mlir::vector::MaskedLoadOp::create(b, vt, memref, indices, mask,
                                            splat_f32(b, b.getLoc(), vt, 0.0f));
}

// Writes `v` to `memref` at `indices`: every lane, or only the lanes `mask` selects.
inline void store_vector(mlir::ImplicitLocOpBuilder& b, mlir::Value v, mlir::Value memref,
                         mlir::ValueRange indices, mlir::Value mask) {
  if (!mask)
    mlir::vector::StoreOp::create(b, v, memref, indices);
  else
    mlir::vector::MaskedStoreOp::create(b, memref, indices, mask, v);
}

}  // namespace eave::codegen
