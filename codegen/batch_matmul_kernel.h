// The f32 matmul of two runtime operands with NumPy batch broadcasting, as attention uses it
// ([b, h, s, d] x [b, h, d, s]): C[..., M, N] = A[..., M, K] · B[..., K, N]. Unlike the
// packed-B kernel (matmul_kernel.h) nothing is known at compile time but the shapes' ranks and
// static dims; B is read in place, row by row: a K step loads nr consecutive floats of one row
// of B and broadcasts mr values of A's column (the same mr x nr register tile as the packed
// kernel). The panel of B (K x nr floats) is reused from cache by every row group of a tile.
//
// Operands (kernel ABI): A as [AB, M, K], B as [BB, K, N] (AB, BB: the product of A's and B's
// batch dims), C as [d1, ..., dr, M, N] with the output's batch dims. Any of M, N, K, AB, BB
// and the d_i may be dynamic (a symbol each). Thread tiles: blocks of tile_rows rows of one
// output matrix; a step over B output matrices of M rows has B · ceil(M / tile_rows) tiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"

namespace mlir {
class ModuleOp;
}

namespace eave::codegen {

// A size that is a constant (value >= 0) or syms[sym].
struct SymDim {
  int64_t value = -1;
  int sym = -1;
  bool is_static() const { return value >= 0; }
};

struct BatchMatmulSpec {
  std::vector<SymDim> batch;  // the output's batch dims d1..dr (may be empty)
  // Per output batch dim: A (B) has size 1 there or lacks the dim, so it is broadcast.
  std::vector<bool> a_broadcast, b_broadcast;
  SymDim a_batch, b_batch;    // AB and BB, the flattened batch sizes of A and B
  SymDim m, n, k;
  SymDim rows;  // d1·...·dr·M: the rows of the output as a matrix (epilogue operands)
};

struct BatchMatmulTiling {
  int64_t lanes = 0, mr = 0, nvec = 0, tile_rows = 0;
  int64_t nr() const { return lanes * nvec; }
};

BatchMatmulTiling choose_batch_matmul_tiling(const BatchMatmulSpec& spec, const TargetSpec& target);

struct MatmulEpilogue;  // matmul_epilogue.h

// Adds func.func `name`: A, B, C, the custom epilogue's operands, index tile_begin, tile_end.
// The epilogue sees C as the matrix [rows, N] (EpilogueSite::row: batch index · M + row).
void build_batch_matmul_kernel(mlir::ModuleOp module, const std::string& name,
                               const BatchMatmulSpec& spec, const BatchMatmulTiling& tiling,
                               const MatmulEpilogue* custom = nullptr);
// Buffers 0 A, 1 B, 2 C, then the custom epilogue's operands (a dynamic dimension of theirs is
// spec.rows).
KernelBinding batch_matmul_binding(const BatchMatmulSpec& spec, const std::string& body,
                                   const std::string& symbol, const MatmulEpilogue* custom = nullptr);

// Convenience for tests and benchmarks.
Bytes compile_batch_matmul_kernel(const BatchMatmulSpec& spec, const BatchMatmulTiling& tiling,
                                  const std::string& symbol, const TargetSpec& target,
                                  const CompileOptions& options = {});

}  // namespace eave::codegen
