// GELU recognition. Exporters write GELU as arithmetic:
//   exact:  0.5 * x * (1 + erf(x / sqrt(2)))
//   tanh:   0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
// with the products and sums in any order. One Gelu node (approximate = none / tanh) computes
// the same in one pass over x and lowers to a single fused kernel.
#include <cmath>

#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

bool near(std::optional<double> v, double want, double tol = 1e-3) {
  return v && std::abs(*v - want) <= tol * std::abs(want);
}

// x when v is x * c or x / (1/c) for the constant c; nullptr otherwise.
Value* scaled_input(Value* v, double c) {
  Node* n = v->producer();
  if (!n || n->num_inputs() != 2) return nullptr;
  if (n->kind() == OpKind::Mul) {
    if (near(scalar_constant(n->input(1)), c)) return n->input(0);
    if (near(scalar_constant(n->input(0)), c)) return n->input(1);
  }
  if (n->kind() == OpKind::Div && near(scalar_constant(n->input(1)), 1.0 / c)) return n->input(0);
  return nullptr;
}

// x when v is x^3 written as Pow(x, 3) or x*x*x.
Value* cube_of(Value* v) {
  Node* n = v->producer();
  if (!n) return nullptr;
  if (n->kind() == OpKind::Pow && is_constant_value(n->input(1), 3.0)) return n->input(0);
  if (n->kind() == OpKind::Mul) {
    for (int i = 0; i < 2; ++i) {
      Node* sq = producer_of(n->input(size_t(i)), OpKind::Mul);
      Value* x = n->input(size_t(1 - i));
      if (sq && sq->input(0) == x && sq->input(1) == x) return x;
    }
  }
  return nullptr;
}

// For the tanh form: x when v is sqrt(2/pi) * (x + 0.044715 * x^3).
Value* tanh_argument(Value* v) {
  Value* inner = scaled_input(v, std::sqrt(2.0 / M_PI));
  Node* add = inner ? producer_of(inner, OpKind::Add) : nullptr;
  if (!add) return nullptr;
  for (int i = 0; i < 2; ++i) {
    Value* x = add->input(size_t(i));
    Value* cubic = scaled_input(add->input(size_t(1 - i)), 0.044715);
    if (cubic && cube_of(cubic) == x) return x;
  }
  return nullptr;
}

// Given a = 1 + f(x), finds the node computing 0.5 * x * a (any association) and returns it.
Node* half_x_times(Value* a, Value* x) {
  Node* m1 = sole_user(a, OpKind::Mul);
  if (!m1) return nullptr;
  Value* f = other_input(m1, a);
  if (scaled_input(f, 0.5) == x) return m1;  // (0.5 * x) * a
  Node* m2 = sole_user(m1->output(0), OpKind::Mul);
  if (!m2) return nullptr;
  Value* f2 = other_input(m2, m1->output(0));
  if ((f == x && near(scalar_constant(f2), 0.5)) || (near(scalar_constant(f), 0.5) && f2 == x))
    return m2;
  return nullptr;
}

bool match_at(Graph& g, Node* act) {
  Value* x = nullptr;
  const char* approximate = "none";
  if (act->kind() == OpKind::Erf) {
    x = scaled_input(act->input(0), 1.0 / std::sqrt(2.0));
  } else {
    x = tanh_argument(act->input(0));
    approximate = "tanh";
  }
  if (!x) return false;
  Node* add = sole_user(act->output(0), OpKind::Add);
  if (!add || !is_constant_value(other_input(add, act->output(0)), 1.0)) return false;
  Node* last = half_x_times(add->output(0), x);
  if (!last) return false;
  Node* gelu = g.create_node(OpKind::Gelu, {x}, 1, last, g.unique_name(act->name() + "_gelu"));
  gelu->set_attr("approximate", Attribute::of_string(approximate));
  infer_new_node(gelu);
  last->output(0)->replace_all_uses_with(gelu->output(0));
  return true;
}

}  // namespace

void recognize_gelu(Model& m) {
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> acts;
    for (const auto& n : g->nodes())
      if (n->kind() == OpKind::Erf || n->kind() == OpKind::Tanh) acts.push_back(n.get());
    for (Node* n : acts) match_at(*g, n);
  }
  eliminate_dead_code(m);
}

}  // namespace eave
