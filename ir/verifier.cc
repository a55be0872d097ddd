#include "ir/verifier.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

#include "support/error.h"

namespace eave {

namespace {

void verify_in_scope(const Graph& g, std::deque<std::unordered_set<const Value*>>& scopes) {
  auto visible = [&](const Value* v) {
    for (const auto& s : scopes)
      if (s.count(v)) return true;
    return false;
  };
  auto check = [&](bool ok, auto&&... msg) {
    if (!ok) internal_fail("IR verifier: graph '", g.name(), "': ", msg...);
  };
  scopes.emplace_back();
  auto& defined = scopes.back();
  for (const Value* v : g.inputs()) {
    check(v->owner() == &g, "input '", v->name(), "' belongs to another graph");
    defined.insert(v);
  }
  for (const Value* v : g.values())
    if (v->is_constant() && !v->producer()) defined.insert(v);

  std::unordered_set<std::string> names;
  for (const auto& n : g.nodes()) {
    check(n->owner() == &g, n->describe(), " has the wrong owner");
    for (size_t i = 0; i < n->num_inputs(); ++i) {
      const Value* v = n->input(i);
      if (!v) continue;
      check(visible(v), n->describe(), ": input ", i, " '", v->name(),
            "' is not defined before use");
      const auto& u = v->uses();
      check(std::any_of(u.begin(), u.end(),
                        [&](const Use& x) { return x.node == n.get() && x.index == int(i); }),
            n->describe(), ": input ", i, " '", v->name(), "' is missing from its use list");
    }
    for (Graph* sub : n->subgraphs()) {
      check(sub->parent_node() == n.get(), n->describe(), ": subgraph '", sub->name(),
            "' has the wrong parent");
      verify_in_scope(*sub, scopes);
    }
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      const Value* v = n->output(i);
      if (!v) continue;
      check(v->owner() == &g, n->describe(), ": output '", v->name(), "' belongs to another graph");
      check(v->producer() == n.get() && v->producer_index() == int(i), n->describe(),
            ": output '", v->name(), "' names another producer");
      check(defined.insert(v).second, n->describe(), ": output '", v->name(), "' defined twice");
    }
  }
  for (const Value* v : g.values()) {
    for (const Use& u : v->uses()) {
      check(u.node->input(size_t(u.index)) == v, "value '", v->name(), "' lists a stale use by ",
            u.node->describe());
    }
  }
  for (const Value* v : g.outputs()) {
    check(v != nullptr, "a graph output is null");
    check(visible(v), "output '", v->name(), "' is never defined");
  }
  scopes.pop_back();
}

}  // namespace

void verify(const Graph& g) {
  std::deque<std::unordered_set<const Value*>> scopes;
  verify_in_scope(g, scopes);
}

void verify(const Model& m) {
  EAVE_ASSERT(m.graph);
  verify(*m.graph);
}

}  // namespace eave
