// The element-wise consumers fused into an anchor's kernel (Conv, depthwise Conv, batched
// MatMul): the operands they read from outside the dispatch, and the builder that evaluates the
// whole chain on the accumulator vectors before they are stored. The kernel sees its output as
// a matrix [rows, width]: for (N, C, spatial...) results rows are the images and width is C·P
// (an EpilogueSite's col is c·P + p, all lanes of a vector in one channel); for [..., M, N]
// matmul results rows are the flattened batch·M and width is N.
#pragma once

#include <vector>

#include "codegen/matmul_epilogue.h"
#include "compiler/partition.h"

namespace eave::lowering {

// How an epilogue operand lines up with the anchor's result.
enum class EpilogueOperand {
  Scalar,   // one value
  Channel,  // one value per channel of an (N, C, spatial...) result: [C, 1, 1], [1, C, 1, 1]...
  Row,      // one value per column of a [..., M, N] result: [N], [1, N], [1, 1, N]...
  Full,     // the result's shape
  Unsupported
};

EpilogueOperand classify_channel_operand(const Value* v, const Shape& out);
EpilogueOperand classify_matrix_operand(const Value* v, const Shape& out);

// Whether `consumer` (element-wise, reading the anchor's result) can join the anchor's kernel,
// its other operands classified against the anchor's result by `classify`.
bool epilogue_fuses(const Node& anchor, const Node& consumer,
                    EpilogueOperand (*classify)(const Value*, const Shape&));

// The kernel's view of its output.
struct EpilogueLayout {
  int64_t rows = -1;   // -1: dynamic
  int64_t width = 0;
  int64_t channels = 0, positions = 0;  // channel layouts: width = channels · positions
};

struct FusedEpilogue {
  bool present = false;               // the dispatch has fused consumers
  std::vector<const Value*> values;   // the epilogue's operands, in kernel order
  codegen::MatmulEpilogue epilogue;   // their memref types and the builder
};

// The epilogue of dispatch `d` (classifying operands as channel or matrix operands by the
// layout: channels > 0 means channel).
FusedEpilogue build_fused_epilogue(const Dispatch& d, mlir::MLIRContext* ctx,
                                   const EpilogueLayout& layout);

}  // namespace eave::lowering
