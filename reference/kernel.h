// The interface every reference kernel implements. A kernel is a plain function that reads its
// node's inputs and attributes from a KernelContext and sets its outputs; it computes output
// shapes itself. Kernels are slow and obvious on purpose: they define what each op means.
#pragma once

#include <functional>
#include <vector>

#include "ir/graph.h"
#include "ir/value_data.h"
#include "support/error.h"

namespace eave::ref {

class KernelContext;
using KernelFn = void (*)(KernelContext&);
using SubgraphRunner =
    std::function<std::vector<ValueData>(const Graph&, std::vector<ValueData>)>;

class KernelContext {
 public:
  KernelContext(const Node& node, std::vector<const ValueData*> inputs, SubgraphRunner run)
      : node_(node), inputs_(std::move(inputs)), outputs_(node.num_outputs()),
        run_subgraph_(std::move(run)) {}

  const Node& node() const { return node_; }
  int64_t opset() const { return node_.opset(); }

  size_t num_inputs() const { return inputs_.size(); }
  // Present: given in the graph (not an empty name) and not an empty optional.
  bool has_input(size_t i) const {
    return i < inputs_.size() && inputs_[i] && !inputs_[i]->is_none();
  }
  // Input i as a tensor; an Error naming the node if it is absent or not a tensor.
  const Tensor& input(size_t i) const;
  // Input i as a tensor, or nullptr if absent.
  const Tensor* optional_input(size_t i) const { return has_input(i) ? &input(i) : nullptr; }
  // Input i as whatever it holds (tensor, sequence or none); an Error if the slot is empty.
  const ValueData& value(size_t i) const;
  // Nullptr when the slot is empty; an empty optional is returned as ValueData::none.
  const ValueData* maybe_value(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }

  size_t num_outputs() const { return outputs_.size(); }
  // False when the graph leaves output i unnamed; kernels may skip computing it.
  bool wants_output(size_t i) const { return i < outputs_.size() && node_.output(i); }
  void set_output(size_t i, ValueData v);
  std::vector<ValueData>& outputs() { return outputs_; }

  // Runs a subgraph of this node with positional inputs. Values it reads from enclosing graphs
  // resolve through the environment this node runs in.
  std::vector<ValueData> run_subgraph(const Graph& g, std::vector<ValueData> inputs) const {
    return run_subgraph_(g, std::move(inputs));
  }

  // An Error prefixed with the node's description.
  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    ::eave::fail(node_.describe(), ": ", std::forward<Args>(args)...);
  }
  template <class... Args>
  void check(bool cond, Args&&... args) const {
    if (!cond) fail(std::forward<Args>(args)...);
  }

 private:
  const Node& node_;
  std::vector<const ValueData*> inputs_;
  std::vector<ValueData> outputs_;
  SubgraphRunner run_subgraph_;
};

class KernelRegistry {
 public:
  // The registry holding every family listed in reference/families.def.
  static const KernelRegistry& get();
  void add(OpKind kind, KernelFn fn);
  KernelFn find(OpKind kind) const {
    return size_t(kind) < fns_.size() ? fns_[size_t(kind)] : nullptr;
  }
  std::vector<OpKind> kinds() const;

 private:
  std::vector<KernelFn> fns_ = std::vector<KernelFn>(size_t(OpKind::NumKinds), nullptr);
};

#define EAVE_REFERENCE_FAMILY(name) void register_##name##_kernels(KernelRegistry& r);
#include "reference/families.def"
#undef EAVE_REFERENCE_FAMILY

}  // namespace eave::ref
