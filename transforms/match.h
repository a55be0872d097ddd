// Small helpers for writing graph rewrites: find producers, read constant scalars, check uses.
#pragma once

#include <optional>

#include "ir/graph.h"

namespace eave {

// The node producing `v` if it has kind `k`, else nullptr.
inline Node* producer_of(const Value* v, OpKind k) {
  return v && v->producer() && v->producer()->kind() == k ? v->producer() : nullptr;
}

// True if `v` is used exactly once and is not a graph output.
inline bool single_use(const Value* v) { return v->uses().size() == 1 && !v->is_graph_output(); }

// The value of a constant with exactly one element, as double.
std::optional<double> scalar_constant(const Value* v);

// True if `v` is a constant whose every element equals `x` (within 1e-6 relative).
bool is_constant_value(const Value* v, double x);

// For a commutative binary node, the input that is not `other` (nullptr if neither is).
Value* other_input(const Node* n, const Value* other);

// Runs shape inference on a node a pass created.
void infer_new_node(Node* n);

// Every graph of the model (main graph and nested subgraphs), parents first.
std::vector<Graph*> all_graphs(Model& m);

}  // namespace eave

namespace eave {

// Reduction axes of a ReduceX node (attribute, or constant input in newer opsets); nullopt if
// not known at compile time. Empty means "all axes".
std::optional<std::vector<int64_t>> reduce_axes(const Node* n);

// If `n` is a binary node of kind k with `x` as one input, the other input; else nullptr.
Value* binary_with(const Node* n, OpKind k, const Value* x);

// The single consumer of `v` if it has kind k and `v` has exactly one use; else nullptr.
Node* sole_user(const Value* v, OpKind k);

}  // namespace eave
