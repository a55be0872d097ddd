// The f32 matmul kernel: C[M,N] (+)= A[M,K] · B[K,N], then an elementwise epilogue (bias,
// activation, or anything the caller builds on the accumulator vectors).
//
// N and K are static; M is static or a symbol. B is a compile-time constant (weights): the
// compiler packs it once with `pack_matmul_rhs` into panels of `nr` columns laid out
// [ceil(N/nr)][K][nr] (mmt4d-style data tiling, zero-padded), so the microkernel reads it as one
// contiguous stream. A is read in place, or (tiling.pack_a, chosen when A's row stride is a
// multiple of 4 KB) each mr×kc block is first copied to a small stack buffer so the rows of a
// block do not fight for the same L1 sets.
//
// Thread tiles are blocks of tile_rows rows × col_tile columns, numbered column block by
// column block (tile t covers row block t mod R and column block t div R, R = ceil(M /
// tile_rows)): a thread's consecutive tiles share one column block of B, which stays in its
// cache, so each weight comes from memory about once however many row blocks M has. A step
// over M rows has matmul_tile_count(tiling, M) tiles. Loop nest per tile:
//   for K blocks of kc:                        — A block (mr×kc) stays in L1
//     for N blocks of nc columns of the tile:  — packed B block (kc×nc) stays in L2
//       for row groups of mr, then one group   — (copy A's block; prefetch the next group's)
//           of the M mod mr remaining rows:
//         for column panels of nr:             — microkernel: mr×nr accumulators in registers
// The epilogue runs on the accumulators in registers after the last K block. No heap; stack:
// mr×kc floats when A is copied.
//
// This header includes nothing from MLIR; the custom epilogue interface is in
// matmul_epilogue.h.
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

enum class Activation { none, relu, clip };

struct MatmulSpec {
  int64_t m = -1;  // rows of A and C; -1: dynamic, the value is syms[m_sym]
  int m_sym = -1;
  int64_t n = 0;  // columns of B and C (static)
  int64_t k = 0;  // columns of A, rows of B (static)
  bool accumulate = false;  // C += A·B instead of C = A·B
  bool bias = false;        // + bias[N], buffer 3
  Activation activation = Activation::none;
  float clip_min = 0, clip_max = 0;  // Activation::clip bounds
};

// Register tile, cache blocking and thread tiling; chosen per target by choose_matmul_tiling.
struct MatmulTiling {
  int64_t lanes = 0;      // f32 lanes per vector register
  int64_t mr = 0;         // register tile rows
  int64_t nr = 0;         // register tile columns (a multiple of lanes); B's packing panel width
  int64_t kc = 0;         // K block
  int64_t nc = 0;         // N block, in columns (a multiple of nr)
  int64_t tile_rows = 0;  // rows of C per thread tile (a multiple of mr)
  int64_t col_tile = 0;   // columns of C per thread tile (a multiple of nc); 0: all of N
  int64_t k_unroll = 1;   // K loop unroll factor of the register tile's schedule
  bool pack_a = true;     // copy A blocks into the stack buffer (else read A in place)
  bool prefetch_c = true; // prefetch the next microkernel's C tile while this one runs
  bool prefetch_a = true; // prefetch the next row group's A block into L2
};

// Throws Error for shapes the kernel does not handle (n, k < 1; dynamic m without a symbol).
MatmulTiling choose_matmul_tiling(const MatmulSpec& spec, const TargetSpec& target);

// Packed B: [ceil(n/nr)][k][nr] floats, the last panel zero-padded.
int64_t packed_rhs_elements(const MatmulSpec& spec, const MatmulTiling& tiling);

// Packs B, given row-major [k][n] (or [n][k] when `transposed`, as ONNX Gemm's transB=1), into
// `packed` (packed_rhs_elements floats; 64-byte alignment recommended).
void pack_matmul_rhs(const float* b, bool transposed, const MatmulSpec& spec,
                     const MatmulTiling& tiling, float* packed);

// Column blocks of a thread tile: ceil(padded N / col_tile), 1 when col_tile is 0.
int64_t matmul_column_tiles(const MatmulSpec& spec, const MatmulTiling& tiling);
// The number of thread tiles for `m` rows: ceil(m / tile_rows) · matmul_column_tiles.
int64_t matmul_tile_count(const MatmulSpec& spec, const MatmulTiling& tiling, int64_t m);

struct MatmulEpilogue;  // matmul_epilogue.h

// Adds func.func `name` (on memrefs) to `module`. Arguments: A, packed B (as a 1-d memref), C,
// bias if spec.bias, the custom epilogue's operands, then index tile_begin, tile_end.
void build_matmul_kernel(mlir::ModuleOp module, const std::string& name, const MatmulSpec& spec,
                         const MatmulTiling& tiling, const MatmulEpilogue* custom = nullptr);

// The ABI binding for a kernel built by build_matmul_kernel: buffers 0 A, 1 packed B, 2 C,
// 3 bias (if any), then the custom epilogue's operands; a dynamic dimension of any of them is M
// (syms[spec.m_sym]).
KernelBinding matmul_binding(const MatmulSpec& spec, const std::string& body,
                             const std::string& symbol, const MatmulEpilogue* custom = nullptr);

// Convenience for tests and benchmarks: kernels (no custom epilogue) in one fresh module,
// compiled to one object; each `symbol` gets the binding of matmul_binding.
struct MatmulKernelRequest {
  MatmulSpec spec;
  MatmulTiling tiling;
  std::string symbol;
};
Bytes compile_matmul_kernels(const std::vector<MatmulKernelRequest>& kernels,
                             const TargetSpec& target, const CompileOptions& options = {});

}  // namespace eave::codegen
