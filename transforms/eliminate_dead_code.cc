// Dead code elimination: removes nodes none of whose outputs is used (by a node, a subgraph or
// a graph output), repeatedly from the end, then values nothing refers to. ONNX ops have no side
// effects, so anything unused can go.
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

void eliminate_dead_code(Model& m) {
  // Inner graphs first, so a node whose subgraph becomes empty of uses can go too.
  std::vector<Graph*> graphs = all_graphs(m);
  for (auto it = graphs.rbegin(); it != graphs.rend(); ++it) {
    Graph& g = **it;
    bool changed = true;
    while (changed) {
      changed = false;
      std::vector<Node*> order;
      for (const auto& n : g.nodes()) order.push_back(n.get());
      for (auto n = order.rbegin(); n != order.rend(); ++n) {
        bool used = (*n)->kind() == OpKind::Check;  // an assertion: its effect is failing
        for (Value* v : (*n)->outputs()) used |= v && (v->has_uses() || v->is_graph_output());
        if (used) continue;
        g.erase_node(*n);
        changed = true;
      }
    }
    g.remove_dead_values();
  }
}

}  // namespace eave
