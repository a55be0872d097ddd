// Shared by the per-family lowerings (MLIR includes: keep to lowering/*.cc).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "compiler/kernel_generator.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace eave::lowering {

struct LoweringContext {
  mlir::MLIRContext* ctx;
  mlir::ModuleOp module;
  const codegen::TargetSpec& target;
  const codegen::TargetInfo& info;
  const std::function<int(const Dim&)>& symbol_of;
};

// A lowered dispatch: the body function's binding and what the step passes.
struct LoweredKernel {
  codegen::KernelBinding binding;
  std::vector<KernelOperand> operands;
  Dim tiles = Dim(1);
};

// A memref type for a value (storage element type; dynamic dims where the shape is symbolic).
mlir::MemRefType memref_type(mlir::Builder& b, const Value* v);
// The binding operand for buffer `buffer` holding `v`: its dynamic dims' symbols.
codegen::KernelOperand binding_operand(const LoweringContext& lc, int buffer, const Value* v);

// elementwise.cc
bool lowers_elementwise(const Node& n);
LoweredKernel lower_elementwise(LoweringContext& lc, const Dispatch& d, const std::string& name);

// matmul.cc
bool lowers_matmul(const Node& n);
bool matmul_fuses(const Node& anchor, const Node& consumer);
LoweredKernel lower_matmul(LoweringContext& lc, const Dispatch& d, const std::string& name);

// conv.cc (fusion of consumers: fused_epilogue.h)
bool lowers_conv(const Node& n);
LoweredKernel lower_conv(LoweringContext& lc, const Dispatch& d, const std::string& name);

// pool.cc
bool lowers_pool(const Node& n);
LoweredKernel lower_pool(LoweringContext& lc, const Dispatch& d, const std::string& name);

// batch_matmul.cc (fusion of consumers: fused_epilogue.h)
bool lowers_batch_matmul(const Node& n);
bool batch_matmul_fuses(const Node& anchor, const Node& consumer);
LoweredKernel lower_batch_matmul(LoweringContext& lc, const Dispatch& d, const std::string& name);

// reduction.cc
bool lowers_reduction(const Node& n);
bool reduction_fuses(const Node& anchor, const Node& consumer);
LoweredKernel lower_reduction(LoweringContext& lc, const Dispatch& d, const std::string& name);

// normalization.cc
bool lowers_normalization(const Node& n);
bool normalization_fuses(const Node& anchor, const Node& consumer);
LoweredKernel lower_normalization(LoweringContext& lc, const Dispatch& d, const std::string& name);

// data_movement.cc
bool lowers_data_movement(const Node& n);
LoweredKernel lower_data_movement(LoweringContext& lc, const Dispatch& d, const std::string& name);

}  // namespace eave::lowering
