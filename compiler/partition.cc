#include "compiler/partition.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "support/error.h"

namespace eave {

const char* dispatch_kind_name(DispatchKind k) {
  switch (k) {
    case DispatchKind::Kernel: return "kernel";
    case DispatchKind::Builtin: return "builtin";
    case DispatchKind::Alias: return "alias";
    case DispatchKind::If: return "if";
    case DispatchKind::Loop: return "loop";
    case DispatchKind::Scan: return "scan";
    case DispatchKind::SequenceMap: return "sequence_map";
  }
  return "?";
}

namespace {

// Symbols an output's dims mention that neither the graph's input dims nor the node's inputs
// (their dims, or the values of shape tensors) do: the output's size depends on data, which
// only a builtin can discover at run time.
bool has_data_dependent_shape(const Node& n) {
  std::unordered_set<std::string> known;
  // The graph's input dims are known before anything runs.
  if (const Graph* g = n.owner())
    for (const Value* v : g->inputs())
      if (v && v->type().is_tensor() && v->shape().has_rank())
        for (const Dim& d : v->shape().dims())
          for (const auto& s : d.symbols()) known.insert(s);
  for (const Value* v : n.inputs()) {
    if (!v || !v->type().is_tensor() || !v->shape().has_rank()) continue;
    for (const Dim& d : v->shape().dims())
      for (const auto& s : d.symbols()) known.insert(s);
    // A shape value's symbols (Slice(x, 0, seq)) are known too: the runtime computes them.
    if (v->sym_data())
      for (const Dim& d : *v->sym_data())
        for (const auto& s : d.symbols()) known.insert(s);
  }
  for (const Value* v : n.outputs()) {
    if (!v) continue;
    if (!v->type().is_tensor() || !v->shape().has_rank()) return true;
    for (const Dim& d : v->shape().dims())
      for (const auto& s : d.symbols())
        if (!known.count(s)) return true;
  }
  return false;
}

bool same_shape(const Value* a, const Value* b) {
  return a->shape().has_rank() && a->shape() == b->shape();
}

// Elementwise nodes at most fused into one kernel as a region (see fusion_region).
constexpr size_t kMaxRegion = 8;

}  // namespace

bool is_view_op(const Node& n) {
  switch (n.kind()) {
    case OpKind::Reshape:
    case OpKind::Flatten:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze:
    case OpKind::Identity:
      break;
    default:
      return false;
  }
  const Value* in = n.input(0);
  const Value* out = n.output(0);
  return in && out && in->type().is_tensor() && out->type().is_tensor() &&
         in->dtype() == out->dtype() && !has_data_dependent_shape(n);
}

namespace {

// The elementwise nodes that join the kernel `prod` computing `in` (a result nothing else
// needs): every user of `in` and, transitively, the users of their results, until exactly one
// node of the region (the last, its sink) has a result read outside it. x * sigmoid(x) after a
// Conv is the region {Sigmoid, Mul}; a plain chain is a region of one node. In graph order;
// empty when no such region of at most kMaxRegion nodes exists, when one of its nodes cannot
// fuse into `prod`, or when one reads a value not computed yet (`done`: the nodes already
// placed).
std::vector<Node*> fusion_region(const Value* in, const Dispatch& prod, const KernelSupport& support,
                                 const std::unordered_set<const Node*>& done,
                                 const std::unordered_map<const Node*, size_t>& position) {
  if (in->is_graph_output()) return {};
  const Node& anchor = *prod.anchor();
  auto fusable = [&](const Node& u) {
    return !done.count(&u) && u.num_outputs() == 1 && u.output(0) && support.generates(u) &&
           support.is_elementwise(u) && !has_data_dependent_shape(u) && same_shape(in, u.output(0)) &&
           (support.is_elementwise(anchor) ||
            (support.takes_epilogue && support.takes_epilogue(anchor) &&
             (!support.fuses || support.fuses(anchor, u))));
  };
  std::vector<Node*> region;
  auto inside = [&](const Node* u) { return std::find(region.begin(), region.end(), u) != region.end(); };
  auto join_users = [&](const Value* v) {
    for (const Use& u : v->uses()) {
      if (inside(u.node)) continue;
      if (!fusable(*u.node) || region.size() == kMaxRegion) return false;
      region.push_back(u.node);
    }
    return true;
  };
  if (!join_users(in)) return {};
  std::vector<const Node*> open;  // region nodes whose result is read outside the region
  for (;;) {
    open.clear();
    for (const Node* u : region) {
      const Value* r = u->output(0);
      if (r->uses().empty() && !r->is_graph_output()) return {};
      bool escapes = r->is_graph_output();
      for (const Use& use : r->uses()) escapes |= !inside(use.node);
      if (escapes) open.push_back(u);
    }
    if (open.size() <= 1) break;
    for (const Node* u : open)
      if (u->output(0)->is_graph_output() || !join_users(u->output(0))) return {};
  }
  std::sort(region.begin(), region.end(),
            [&](const Node* a, const Node* b) { return position.at(a) < position.at(b); });
  // One result leaves, from the sink: the last node, which every other one feeds.
  if (open.size() != 1 || open[0] != region.back()) return {};
  // What the region reads must exist where the kernel will run (at this, its first node).
  for (const Node* u : region)
    for (const Value* v : u->inputs())
      if (v && v != in && v->producer() && !done.count(v->producer()) && !inside(v->producer()))
        return {};
  return region;
}

}  // namespace

std::vector<Dispatch> partition_graph(Graph& g, const KernelSupport& support) {
  std::vector<Dispatch> out;
  // The kernel dispatch (index into `out`) that produced a value, for epilogue fusion.
  std::unordered_map<const Value*, size_t> kernel_of;
  std::unordered_map<const Node*, size_t> position;
  for (const auto& node : g.nodes()) position.emplace(node.get(), position.size());
  std::unordered_set<const Node*> done;  // placed in a dispatch
  for (const auto& node : g.nodes()) {
    Node* n = node.get();
    if (done.count(n)) continue;  // fused ahead, as part of a region
    Dispatch d;
    d.nodes = {n};
    d.name = n->name().empty() ? n->op_type() : n->name();
    if (n->kind() == OpKind::If) {
      d.kind = DispatchKind::If;
    } else if (n->kind() == OpKind::Loop) {
      d.kind = DispatchKind::Loop;
    } else if (n->kind() == OpKind::Scan) {
      d.kind = DispatchKind::Scan;
    } else if (n->kind() == OpKind::SequenceMap) {
      d.kind = DispatchKind::SequenceMap;
    } else if (is_view_op(*n)) {
      d.kind = DispatchKind::Alias;
    } else if (!has_data_dependent_shape(*n) && support.generates && support.generates(*n)) {
      d.kind = DispatchKind::Kernel;
      // Fuse into the producer's kernel when this is an elementwise consumer of its result and
      // the consumers of that result form a region with one result (fusion_region).
      if (support.is_elementwise(*n)) {
        for (Value* in : n->inputs()) {
          if (!in) continue;
          auto it = kernel_of.find(in);
          if (it == kernel_of.end()) continue;
          Dispatch& prod = out[it->second];
          std::vector<Node*> region = fusion_region(in, prod, support, done, position);
          if (region.empty()) continue;
          prod.nodes.insert(prod.nodes.end(), region.begin(), region.end());
          // The fused kernel now runs here: move it to the end.
          size_t idx = it->second;
          Dispatch moved = std::move(out[idx]);
          out.erase(out.begin() + long(idx));
          for (auto& [v, i] : kernel_of)
            if (i > idx) --i;
          out.push_back(std::move(moved));
          kernel_of.erase(in);
          kernel_of[region.back()->output(0)] = out.size() - 1;
          done.insert(region.begin(), region.end());
          n = nullptr;
          break;
        }
        if (!n) continue;
      }
    } else {
      d.kind = DispatchKind::Builtin;
    }
    out.push_back(std::move(d));
    done.insert(n);
    if (out.back().kind == DispatchKind::Kernel && n->num_outputs() == 1)
      kernel_of[n->output(0)] = out.size() - 1;
  }
  // Inputs and outputs of each dispatch.
  for (Dispatch& d : out) {
    std::unordered_set<const Value*> inside;
    for (Node* n : d.nodes)
      for (Value* v : n->outputs())
        if (v) inside.insert(v);
    std::unordered_set<const Value*> seen;
    for (Node* n : d.nodes) {
      for (Value* v : n->inputs()) {
        if (d.kind != DispatchKind::Kernel) {
          d.inputs.push_back(v);  // positional, absent inputs as nullptr
          continue;
        }
        if (v && !inside.count(v) && seen.insert(v).second) d.inputs.push_back(v);
      }
    }
    for (Node* n : d.nodes) {
      for (Value* v : n->outputs()) {
        if (!v) continue;
        bool external = v->is_graph_output();
        for (const Use& u : v->uses())
          external |= std::find(d.nodes.begin(), d.nodes.end(), u.node) == d.nodes.end();
        // Builtins and control flow write every output slot, used or not.
        if (external || d.kind != DispatchKind::Kernel) d.outputs.push_back(v);
      }
    }
  }
  return out;
}

std::string print_dispatches(const std::vector<Dispatch>& ds) {
  std::string s;
  for (size_t i = 0; i < ds.size(); ++i) {
    const Dispatch& d = ds[i];
    s += "dispatch " + std::to_string(i) + " " + dispatch_kind_name(d.kind) + " '" + d.name + "': ";
    for (size_t k = 0; k < d.nodes.size(); ++k) s += (k ? " -> " : "") + d.nodes[k]->op_type();
    s += "  (";
    for (size_t k = 0; k < d.inputs.size(); ++k)
      s += (k ? ", %" : "%") + (d.inputs[k] ? d.inputs[k]->name() : std::string("<none>"));
    s += ") -> (";
    for (size_t k = 0; k < d.outputs.size(); ++k) s += (k ? ", %" : "%") + d.outputs[k]->name();
    s += ")\n";
  }
  return s;
}

}  // namespace eave
