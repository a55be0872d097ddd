// Element-wise ONNX ops as MLIR arith/math ops, on scalars or on vectors of any width: the
// body of a fused elementwise kernel (a linalg.generic region) and the epilogue of a matmul
// (accumulator vectors in registers) are built by the same code.
//
// Values carry their eave dtype next to the MLIR value: MLIR integers are signless, so whether
// a division or comparison is signed comes from the dtype. Arithmetic runs in a compute type:
// f16 and bf16 widen to f32 (as the reference interpreter does), bool is i1, every other dtype
// is itself. Storage types are what buffers hold (bool is one byte).
#pragma once

#include <optional>
#include <vector>

#include "ir/graph.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

namespace eave::lowering {

struct TypedValue {
  mlir::Value v;
  DType dtype;
};

// The element type a buffer of `t` holds (bool: i8; unsigned: signless of the same width).
mlir::Type storage_type(mlir::Builder& b, DType t);
// The element type arithmetic on `t` uses (f16/bf16: f32; bool: i1).
mlir::Type compute_type(mlir::Builder& b, DType t);

// A value read from storage, converted to its compute type; and back.
TypedValue from_storage(mlir::OpBuilder& b, mlir::Location loc, mlir::Value stored, DType t);
mlir::Value to_storage(mlir::OpBuilder& b, mlir::Location loc, const TypedValue& v);

// x (in its compute type) converted to the compute type of `to`, as Cast converts: floats to
// integers truncate toward zero and saturate, NaN gives 0.
mlir::Value convert_to(mlir::OpBuilder& b, mlir::Location loc, const TypedValue& x, DType to);

// True if build_elementwise handles `n` (its op, attributes and dtypes).
bool elementwise_supported(const Node& n);

// Builds n's result from its inputs (in compute types, scalar or all the same vector shape;
// absent optional inputs as null values). Returns the result in the compute type of n's output
// dtype.
TypedValue build_elementwise(mlir::OpBuilder& b, mlir::Location loc, const Node& n,
                             const std::vector<TypedValue>& ins);

}  // namespace eave::lowering
