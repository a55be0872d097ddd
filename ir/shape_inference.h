// Shape and dtype inference on the IR, with symbolic dimensions.
//
// Walks a graph in order and sets the type of every node output from its inputs' types,
// attributes and, where an op's output shape depends on data (Reshape's shape, Slice's starts),
// from known constant data or from symbolic values of small integer tensors: Shape(x) of an
// x: f32[batch,seq,64] is known to hold [batch, seq, 64], so Reshape(y, Concat(Shape(x)[0:2],
// [-1])) gets the symbolic shape [batch, seq, ...]. That is how `batch` and `seq` flow through
// reshapes, concats and broadcasts. Dims nothing is known about become fresh symbols.
//
// Ops eave has no rule for go to an optional fallback (the importer provides one built on
// ONNX's own per-op inference); without one their outputs stay untyped.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/graph.h"

namespace eave {

struct InferOptions;

class InferContext {
 public:
  explicit InferContext(Node& n, const InferOptions* opts = nullptr) : node_(n), opts_(opts) {}
  Node& node() const { return node_; }
  // What inference runs with (nullptr: the defaults), for rules that infer subgraphs.
  const InferOptions* options() const { return opts_; }
  int64_t opset() const { return node_.opset(); }

  size_t num_inputs() const { return node_.num_inputs(); }
  bool has_input(size_t i) const { return node_.input(i) != nullptr; }
  const Type& input_type(size_t i) const;  // an Error if the input is absent
  DType in_dtype(size_t i) const { return input_type(i).dtype; }
  // The input's shape; unknown-rank shapes are returned as is.
  const Shape& in_shape(size_t i) const { return input_type(i).shape; }
  // Input i's shape, which must have a known rank (else the inference gives up: the caller's
  // output stays unknown). Use via `if (!ranked(i)) return;`.
  bool ranked(size_t i) const { return has_input(i) && input_type(i).shape.has_rank(); }
  // Constant data of input i, if it is a constant.
  const Tensor* const_input(size_t i) const;
  // Elements of input i (a scalar or 1-D integer tensor) as dims, when known from constant data
  // or from symbolic propagation.
  std::optional<std::vector<Dim>> sym_input(size_t i) const;
  // Elements of input i as integers, when they are all known constants.
  std::optional<std::vector<int64_t>> int_input(size_t i) const;

  void set_output(size_t i, DType dtype, Shape shape);
  void set_output_type(size_t i, Type t);
  void set_sym_output(size_t i, std::vector<Dim> values);
  size_t num_outputs() const { return node_.num_outputs(); }

  int64_t axis(int64_t a, int64_t rank) const;  // normalized, or an Error naming the node
  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    ::eave::fail(node_.describe(), ": ", std::forward<Args>(args)...);
  }
  template <class... Args>
  void check(bool cond, Args&&... args) const {
    if (!cond) fail(std::forward<Args>(args)...);
  }

 private:
  Node& node_;
  const InferOptions* opts_;
};

using InferFn = void (*)(InferContext&);
// Infers a node the IR has no rule for; returns false if it could not.
using InferFallback = std::function<bool(Node&)>;

struct InferOptions {
  InferFallback fallback;
};

// Infers types for every node of `g` and its subgraphs. Declared types of outputs are kept
// where they know more (a constant where inference found a symbol). Errors name the node.
void infer_shapes(Graph& g, const InferOptions& opts = {});
void infer_node(Node& n, const InferOptions& opts = {});
// The rule for an op kind, or nullptr.
InferFn find_infer_rule(OpKind k);

// The most specific type both a and b satisfy (what a value is when it may be either): equal
// dims stay, differing ones become fresh symbols, differing ranks an unknown rank.
Type join_types(const Type& a, const Type& b);

// Broadcasts symbolic shapes NumPy-style. Two different symbols are assumed equal (the first is
// kept) unless one is known to be 1; an Error if two constants conflict.
Shape broadcast_shapes(const std::vector<Shape>& shapes, const std::string& who);

#define EAVE_INFER_FAMILY(name) void register_##name##_infer_rules(std::vector<InferFn>& rules);
#include "ir/infer/families.def"
#undef EAVE_INFER_FAMILY

}  // namespace eave
