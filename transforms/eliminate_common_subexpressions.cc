// Common subexpression elimination: two nodes of the same op with the same inputs and equal
// attributes compute the same values, so the later one's outputs are replaced by the earlier
// one's. Identical constants (same type, shape and bytes) are merged first, which exposes more
// equal nodes (exporters often duplicate small constants).
#include <cstring>
#include <map>
#include <unordered_map>

#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

bool equal_tensors(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.dims() != b.dims()) return false;
  if (a.dtype() == DType::String) return a.strings() == b.strings();
  return a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

uint64_t hash_bytes(const void* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

bool equal_attrs(const Attribute& a, const Attribute& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case AttrKind::Float: return a.f == b.f || (a.f != a.f && b.f != b.f);
    case AttrKind::Int: return a.i == b.i;
    case AttrKind::String: return a.s == b.s;
    case AttrKind::Tensor: return equal_tensors(a.t, b.t);
    case AttrKind::Floats: return a.floats == b.floats;
    case AttrKind::Ints: return a.ints == b.ints;
    case AttrKind::Strings: return a.strings == b.strings;
    case AttrKind::Type: return a.type == b.type;
    default: return false;  // graphs: never merged
  }
}

bool same_computation(const Node* a, const Node* b) {
  if (a->kind() != b->kind() || a->op_type() != b->op_type() || a->domain() != b->domain() ||
      a->inputs() != b->inputs() || a->num_outputs() != b->num_outputs() ||
      a->attrs().size() != b->attrs().size())
    return false;
  for (const auto& [name, attr] : a->attrs()) {
    const Attribute* other = b->find_attr(name);
    if (!other || !equal_attrs(attr, *other)) return false;
  }
  return true;
}

bool mergeable(const Node* n) {
  switch (n->kind()) {
    case OpKind::RandomNormal: case OpKind::RandomNormalLike: case OpKind::RandomUniform:
    case OpKind::RandomUniformLike: case OpKind::Bernoulli: case OpKind::Multinomial:
      return false;
    default:
      return n->subgraphs().empty();
  }
}

void merge_constants(Graph& g) {
  std::unordered_map<uint64_t, std::vector<Value*>> seen;
  for (Value* v : g.values()) {
    if (!v->is_constant() || v->producer() || v->is_graph_input() || !v->has_uses()) continue;
    const Tensor& t = *v->constant();
    uint64_t h = t.dtype() == DType::String ? t.strings().size() : hash_bytes(t.raw(), t.nbytes());
    h ^= uint64_t(t.dtype()) * 31 + t.rank();
    bool merged = false;
    for (Value* prev : seen[h]) {
      if (equal_tensors(*prev->constant(), t) && !v->is_graph_output()) {
        v->replace_all_uses_with(prev);
        merged = true;
        break;
      }
    }
    if (!merged) seen[h].push_back(v);
  }
}

}  // namespace

void eliminate_common_subexpressions(Model& m) {
  for (Graph* g : all_graphs(m)) {
    merge_constants(*g);
    // Key by op and first input to keep candidate lists short.
    std::map<std::pair<std::string, const Value*>, std::vector<Node*>> candidates;
    std::vector<Node*> dead;
    for (const auto& n : g->nodes()) {
      if (!mergeable(n.get())) continue;
      auto& list = candidates[{n->op_type(), n->input(0)}];
      Node* twin = nullptr;
      for (Node* c : list)
        if (same_computation(c, n.get())) twin = c;
      if (!twin) {
        list.push_back(n.get());
        continue;
      }
      bool replaceable = true;
      for (size_t i = 0; i < n->num_outputs(); ++i) {
        replaceable &= (n->output(i) == nullptr) == (twin->output(i) == nullptr);
        // Keep graph outputs distinct values.
        replaceable &= !(n->output(i) && n->output(i)->is_graph_output());
      }
      if (!replaceable) continue;
      for (size_t i = 0; i < n->num_outputs(); ++i)
        if (Value* v = n->output(i)) v->replace_all_uses_with(twin->output(i));
      dead.push_back(n.get());
    }
    for (Node* n : dead) g->erase_node(n);
    g->remove_dead_values();
  }
}

}  // namespace eave
