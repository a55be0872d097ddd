// Epilogues of (N, C, spatial...) anchors (Conv, depthwise Conv): the element-wise consumers
// fused into the dispatch, built on the accumulator vectors. The kernel sees its output as the
// matrix [N, C·P] (P positions per channel): an EpilogueSite's row is the image and its col is
// c·P + p, all lanes of a vector in one channel.
#pragma once

#include <vector>

#include "codegen/matmul_epilogue.h"
#include "compiler/partition.h"

namespace eave::lowering {

// How an epilogue operand lines up with the anchor's (N, C, spatial...) result.
enum class ChannelOperand {
  Scalar,   // one value
  Channel,  // one value per channel: [C, 1, 1], [1, C, 1, 1], ...
  Full,     // the result's shape
  Unsupported
};

ChannelOperand classify_channel_operand(const Value* v, const Shape& out);

// Whether `consumer` (element-wise, reading the anchor's result) can join the anchor's kernel.
bool channel_epilogue_fuses(const Node& anchor, const Node& consumer);

struct ChannelEpilogue {
  bool present = false;                 // the dispatch has fused consumers
  std::vector<const Value*> values;     // the epilogue's operands, in kernel order
  std::vector<ChannelOperand> kinds;
  codegen::MatmulEpilogue epilogue;     // operand types and the builder
};

// The epilogue of dispatch `d` whose anchor has `channels` channels of `positions` each; a
// Full operand is typed [batch (dynamic when dynamic_batch), channels·positions].
ChannelEpilogue build_channel_epilogue(const Dispatch& d, mlir::MLIRContext* ctx, int64_t channels,
                                       int64_t positions, bool dynamic_batch, int64_t batch);

}  // namespace eave::lowering
