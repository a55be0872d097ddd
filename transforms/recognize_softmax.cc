// Softmax recognition: e = Exp(x - ReduceMax(x, [a])) (or Exp(x)); y = e / ReduceSum(e, [a])
// over the last axis becomes Softmax(x, axis = a), one kernel instead of five passes over x.
// Only the last axis is matched, where every opset's Softmax means the same thing.
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

bool over_last_axis(const Node* reduce, int64_t rank) {
  auto axes = reduce_axes(reduce);
  if (!axes || axes->size() != 1) return false;
  int64_t a = (*axes)[0] < 0 ? (*axes)[0] + rank : (*axes)[0];
  return a == rank - 1 && reduce->attr_int("keepdims", 1) != 0;
}

bool match_at(Graph& g, Node* div) {
  Value* e = div->input(0);
  Node* exp = producer_of(e, OpKind::Exp);
  Node* sum = producer_of(div->input(1), OpKind::ReduceSum);
  if (!exp || !sum || sum->input(0) != e || e->uses().size() != 2 || e->is_graph_output() ||
      !single_use(sum->output(0)))
    return false;
  Value* x = exp->input(0);
  if (Node* sub = producer_of(x, OpKind::Sub)) {
    Node* max = producer_of(sub->input(1), OpKind::ReduceMax);
    if (max && max->input(0) == sub->input(0) && single_use(x) && single_use(max->output(0))) {
      if (!sub->input(0)->shape().has_rank() ||
          !over_last_axis(max, int64_t(sub->input(0)->shape().rank())))
        return false;
      x = sub->input(0);
    }
  }
  if (!x->shape().has_rank() || !is_float(x->dtype())) return false;
  int64_t r = int64_t(x->shape().rank());
  if (!over_last_axis(sum, r)) return false;
  Node* sm = g.create_node(OpKind::Softmax, {x}, 1, div, g.unique_name(div->name() + "_softmax"));
  sm->set_attr("axis", Attribute::of_int(r - 1));
  infer_new_node(sm);
  div->output(0)->replace_all_uses_with(sm->output(0));
  return true;
}

}  // namespace

void recognize_softmax(Model& m) {
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> divs;
    for (const auto& n : g->nodes())
      if (n->kind() == OpKind::Div) divs.push_back(n.get());
    for (Node* n : divs) match_at(*g, n);
  }
  eliminate_dead_code(m);
}

}  // namespace eave
