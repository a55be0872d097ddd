#include "transforms/match.h"

#include <cmath>

#include "ir/shape_inference.h"

namespace eave {

std::optional<double> scalar_constant(const Value* v) {
  if (!v || !v->is_constant()) return std::nullopt;
  const Tensor* t = v->constant();
  if (t->numel() != 1 || t->dtype() == DType::String) return std::nullopt;
  return t->as_double(0);
}

bool is_constant_value(const Value* v, double x) {
  if (!v || !v->is_constant()) return false;
  const Tensor* t = v->constant();
  if (t->dtype() == DType::String || t->numel() == 0) return false;
  for (int64_t i = 0; i < t->numel(); ++i) {
    double d = t->as_double(i);
    if (std::abs(d - x) > 1e-6 * std::max(1.0, std::abs(x))) return false;
  }
  return true;
}

Value* other_input(const Node* n, const Value* other) {
  if (n->num_inputs() != 2) return nullptr;
  if (n->input(0) == other) return n->input(1);
  if (n->input(1) == other) return n->input(0);
  return nullptr;
}

void infer_new_node(Node* n) { infer_node(*n); }

std::vector<Graph*> all_graphs(Model& m) {
  std::vector<Graph*> out;
  walk_graphs(*m.graph, [&](Graph& g) { out.push_back(&g); });
  return out;
}

}  // namespace eave

namespace eave {

std::optional<std::vector<int64_t>> reduce_axes(const Node* n) {
  if (n->has_attr("axes")) return n->attr_ints("axes");
  if (n->input(1)) {
    const Tensor* t = n->input(1)->constant();
    if (!t) return std::nullopt;
    return t->to_int_vector();
  }
  return std::vector<int64_t>{};
}

Value* binary_with(const Node* n, OpKind k, const Value* x) {
  if (!n || n->kind() != k) return nullptr;
  return other_input(n, x);
}

Node* sole_user(const Value* v, OpKind k) {
  if (!v || !single_use(v)) return nullptr;
  Node* u = v->uses()[0].node;
  return u->kind() == k ? u : nullptr;
}

}  // namespace eave
