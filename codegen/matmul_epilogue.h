// A caller-supplied epilogue for the matmul kernel (matmul_kernel.h): the compiler fuses the
// elementwise ops that follow a Gemm/Conv by building them on the accumulator vectors, in
// registers, before they are stored.
#pragma once

#include <functional>
#include <vector>

#include "codegen/mlir_to_object.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"

namespace eave::codegen {

// One vector of the finished C tile, as the epilogue sees it.
struct EpilogueSite {
  mlir::OpBuilder& b;
  mlir::Location loc;
  mlir::Value acc;   // vector<lanes x f32>: C[row, col .. col+lanes), bias/activation applied
  mlir::Value row;   // index
  mlir::Value col;   // index of the first lane's column
  mlir::Value mask;  // vector<lanes x i1>, lanes holding columns < N; null when all do
  std::vector<mlir::Value> operands;  // the epilogue's kernel operands (memrefs), in order

  // Loads `lanes` f32 from memref[indices..., col + lane] (masked where `mask` is set; the
  // masked-off lanes read 0), e.g. a per-column scale: load(operands[0], {}).
  mlir::Value load_row_vector(mlir::Value memref, mlir::ValueRange leading_indices) const;
};

struct MatmulEpilogue {
  // Memref types of the extra kernel operands (static shapes), passed after C and bias.
  std::vector<mlir::Type> operand_types;
  // Returns the value to store in place of `site.acc` (same type). Must not throw.
  std::function<mlir::Value(const EpilogueSite& site)> apply;
};

// Appends the binding of each of `custom`'s operands (none when null) to `k`, as the next
// buffers; their dynamic dimensions take syms[dynamic_sym].
void append_epilogue_bindings(KernelBinding& k, const MatmulEpilogue* custom, int dynamic_sym);

}  // namespace eave::codegen
