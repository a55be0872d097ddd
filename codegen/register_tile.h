// The register tile of the GEMM-shaped kernels (the packed matmul, the packed and transposed
// convolution methods, the batched matmul): tile[rows x width] += A[rows x k] · B[k x width]
// over a run of K, stated as a linalg.matmul on a stack tile and turned into the kernel's inner
// loop by one transform-dialect schedule, `register_tile_u<unroll>`: one K step at a time,
// A's element broadcast and one FMA per vector of B's row, the tile carried in registers
// across the loop, the loop unrolled `unroll` times. The depthwise convolution's blocks use
// the same tile for a product over the taps of a window (`accumulate_taps`). The vector code
// around it (initial tile, epilogue, stores) reads and writes the tile's vectors; LLVM keeps
// those in registers too. Codegen-internal (MLIR includes).
#pragma once

#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace eave::codegen {

class RegisterTile {
 public:
  // A stack tile of up to `rows` x `width` f32 in vectors of `lanes` (width a multiple of
  // lanes), allocated where the builder is (outside the kernel's loops); the products add
  // their schedules to `module` unless it has them.
  RegisterTile(mlir::ImplicitLocOpBuilder& b, mlir::ModuleOp module, int64_t rows, int64_t width,
               int64_t lanes, int64_t unroll);

  // tile[0:rows, 0:n·lanes) = `vectors`, row-major: n = vectors.size() / rows a row.
  void set(mlir::ImplicitLocOpBuilder& b, llvm::ArrayRef<mlir::Value> vectors, int64_t rows) const;
  // tile[0:rows, 0:width) += a · panel, where a is a [rows, k] memref and panel a [k, width]
  // one, rows and width static (k may be dynamic, 0 included).
  void accumulate(mlir::ImplicitLocOpBuilder& b, mlir::Value a, mlir::Value panel) const;
  // tile[0:rows, 0:width) += Σ x[i, j, :, :] · w[i, j] over the KH x KW taps of a depthwise
  // convolution: x a static [KH, KW, rows, width] view of the (padded) input, w a [KH, KW]
  // view of the channel's weights; by the schedule `register_tile_taps` (with the tap loops
  // unrolled completely if `unroll`: `register_tile_taps_<KH>x<KW>`).
  void accumulate_taps(mlir::ImplicitLocOpBuilder& b, mlir::Value x, mlir::Value w,
                       bool unroll) const;
  // The vectors of tile[0:rows, 0:nvec·lanes), as `set` takes them.
  llvm::SmallVector<mlir::Value> get(mlir::ImplicitLocOpBuilder& b, int64_t rows,
                                     int64_t nvec) const;
  // set, accumulate, get.
  llvm::SmallVector<mlir::Value> multiply(mlir::ImplicitLocOpBuilder& b,
                                          llvm::ArrayRef<mlir::Value> init, int64_t rows,
                                          mlir::Value a, mlir::Value panel) const;

 private:
  mlir::ModuleOp module_;
  mlir::Value tile_;
  mlir::VectorType vector_;
  std::string schedule_;
  int64_t unroll_;
};

// A view of the identity-layout memref `m` (flattened) from element `offset`, with `sizes`
// and `strides`: packed panels and weights, and operands in place.
mlir::Value strided_view(mlir::ImplicitLocOpBuilder& b, mlir::Value m, mlir::OpFoldResult offset,
                         llvm::ArrayRef<mlir::OpFoldResult> sizes,
                         llvm::ArrayRef<mlir::OpFoldResult> strides);
// The [rows x cols] strided_view with strides (row_stride, col_stride).
mlir::Value matrix_view(mlir::ImplicitLocOpBuilder& b, mlir::Value m, mlir::OpFoldResult offset,
                        mlir::OpFoldResult rows, mlir::OpFoldResult cols,
                        mlir::OpFoldResult row_stride, mlir::OpFoldResult col_stride);

}  // namespace eave::codegen
