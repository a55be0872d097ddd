// Partition: groups the nodes of a graph into dispatches, the units the runtime executes.
//
//   Kernel   generated code for one or more fused nodes: an anchor (a contraction such as
//            MatMul/Gemm/Conv, a reduction, or an elementwise op) followed by the elementwise
//            ops that consume its result when nothing else needs it: bias adds, activations,
//            residual adds, scale/shift folded from BatchNorm, and regions that read it more
//            than once (x * sigmoid(x)) as long as one result leaves them.
//   Builtin  one node run by a runtime builtin (ops not worth generating code for, and any op
//            whose output shape depends on data).
//   Alias    a view, no work: Reshape, Flatten, Squeeze, Unsqueeze, Identity.
//   If, Loop, Scan, SequenceMap
//            control flow: one node whose subgraphs become nested programs
//            (compiler/emit_control_flow.cc), partitioned the same way.
//
// Dispatches come out in an order that respects every dependency: a fused dispatch runs where
// its last node was.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eave {

enum class DispatchKind { Kernel, Builtin, Alias, If, Loop, Scan, SequenceMap };

const char* dispatch_kind_name(DispatchKind k);

struct Dispatch {
  DispatchKind kind = DispatchKind::Builtin;
  std::vector<Node*> nodes;    // Kernel: the fused nodes in order; otherwise one node
  std::vector<Value*> inputs;  // values read from outside the dispatch, first use first
  std::vector<Value*> outputs; // values it produces that anything outside reads
  std::string name;

  Node* anchor() const { return nodes.front(); }
};

// What the code generator can do with a node (lowering/ answers; the partition only asks).
struct KernelSupport {
  std::function<bool(const Node&)> generates;        // a kernel can compute this node
  std::function<bool(const Node&)> is_elementwise;   // it can be fused into a producer's epilogue
  std::function<bool(const Node&)> takes_epilogue;   // as an anchor, it accepts fused consumers
  // Whether `consumer` (elementwise, reading the anchor's result) can join the anchor's kernel;
  // absent means yes whenever takes_epilogue(anchor).
  std::function<bool(const Node& anchor, const Node& consumer)> fuses;
};

std::vector<Dispatch> partition_graph(Graph& g, const KernelSupport& support);

// A readable listing for --print-ir-after=partition.
std::string print_dispatches(const std::vector<Dispatch>& ds);

// True for ops whose output is a view of their first input (no data movement).
bool is_view_op(const Node& n);

}  // namespace eave
