// If inlining: an If whose condition is a constant runs one branch every time, so that
// branch's nodes move into the enclosing graph and the If disappears. Exporters emit such Ifs
// around shape checks (PyTorch's `if x.size(0) == 1: x = x.squeeze(0)`); once input shapes are
// known, constant folding turns the check into a constant. Besides saving a nested program,
// this gives the values after it a known rank: the two branches of such an If often disagree
// on rank, which no static type can describe.
#include <unordered_map>

#include "ir/shape_inference.h"
#include "support/error.h"
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

// Points inputs of nodes inside `g` (and deeper) that read `from` values at their copies.
void remap_reads(Graph& g, const std::unordered_map<const Value*, Value*>& map) {
  for (const auto& n : g.nodes()) {
    for (size_t i = 0; i < n->num_inputs(); ++i)
      if (Value* v = n->input(i))
        if (auto it = map.find(v); it != map.end()) n->set_input(i, it->second);
    for (Graph* sub : n->subgraphs()) remap_reads(*sub, map);
  }
  for (size_t i = 0; i < g.outputs().size(); ++i)
    if (auto it = map.find(g.outputs()[i]); it != map.end()) g.set_output(i, it->second);
}

// The branch an If always takes: by its constant condition, or because the other branch cannot
// run with the compiled shapes (then a Check on the condition is inserted before it, so a run
// whose condition picks the impossible branch stops with a message instead).
Graph* taken_branch(Graph& g, Node* n) {
  Value* cond = n->input(0);
  if (!cond) return nullptr;
  if (cond->is_constant() && cond->constant()->numel() == 1)
    return n->attr_graph(cond->constant()->as_int(0) != 0 ? "then_branch" : "else_branch");
  const Attribute* unreachable = n->find_attr(kUnreachableBranch);
  if (!unreachable) return nullptr;
  bool then_ok = unreachable->s == "else";
  Value* must_hold = cond;
  if (!then_ok) {
    Node* negate = g.create_node(OpKind::Not, {cond}, 1, n, g.unique_name(n->name() + "_not"));
    negate->output(0)->set_type(Type::tensor(DType::Bool, cond->shape()));
    must_hold = negate->output(0);
  }
  Node* check = g.create_node(OpKind::Check, {must_hold}, 0, n, g.unique_name(n->name() + "_check"));
  check->set_attr("message",
                  Attribute::of_string(str_cat(
                      n->describe(), ": its ", unreachable->s,
                      " branch was taken, but it cannot run with the input shapes the model was "
                      "compiled for (", n->find_attr(kUnreachableReason)->s,
                      "); compile with other --input-shape values")));
  return n->attr_graph(then_ok ? "then_branch" : "else_branch");
}

bool inline_if(Graph& g, Node* n) {
  Graph* branch = taken_branch(g, n);
  if (!branch) return false;
  if (!branch->inputs().empty() || branch->outputs().size() != n->num_outputs()) return false;

  std::unordered_map<const Value*, Value*> map;
  for (Value* v : branch->values()) {
    if (!v->is_constant() || v->producer()) continue;
    Value* c = g.add_value(g.unique_name(v->name()), v->type());
    c->set_constant(std::shared_ptr<const Tensor>(std::make_shared<Tensor>(*v->constant())));
    map[v] = c;
  }
  // Copy the branch's nodes before the If, in order; nested subgraphs move to the copies.
  for (const auto& bn : branch->nodes()) {
    std::vector<Value*> ins;
    for (Value* v : bn->inputs()) {
      auto it = v ? map.find(v) : map.end();
      ins.push_back(it != map.end() ? it->second : v);
    }
    std::vector<Value*> outs;
    for (Value* v : bn->outputs()) {
      if (!v) {
        outs.push_back(nullptr);
        continue;
      }
      Value* o = g.add_value(g.unique_name(v->name()), v->type());
      o->set_sym_data(v->sym_data());
      map[v] = o;
      outs.push_back(o);
    }
    Node* copy = g.add_node(bn->domain(), bn->op_type(), ins, outs, bn->name());
    for (const auto& [name, a] : bn->attrs()) copy->set_attr(name, a);
    for (Graph* sub : copy->subgraphs()) sub->set_parent_node(copy);
    g.move_before(copy, n);
  }
  for (const auto& node : g.nodes())
    for (Graph* sub : node->subgraphs()) remap_reads(*sub, map);
  for (size_t i = 0; i < n->num_outputs(); ++i) {
    Value* out = n->output(i);
    if (!out) continue;
    Value* src = branch->outputs()[i];
    auto it = map.find(src);
    Value* v = it != map.end() ? it->second : src;  // an outer value returned as is
    if (v->type().known() && !out->type().known()) v->set_type(out->type());
    out->replace_all_uses_with(v);
  }
  return true;
}

}  // namespace

bool inline_constant_if(Model& m) {
  bool any = false;
  for (bool changed = true; changed;) {
    changed = false;
    for (Graph* g : all_graphs(m)) {
      std::vector<Node*> ifs;
      for (const auto& n : g->nodes())
        if (n->kind() == OpKind::If) ifs.push_back(n.get());
      for (Node* n : ifs) changed |= inline_if(*g, n);
      if (changed) break;  // graphs may have been destroyed: list them again
    }
    if (changed) eliminate_dead_code(m);
    any |= changed;
  }
  return any;
}

}  // namespace eave
