// Canonicalization: local rewrites that remove no-ops and put shape ops in one form, so later
// passes and lowering see fewer patterns:
//   Identity(x), inference Dropout(x), Cast(x) to x's own type, Expand(x) to x's own shape,
//   Transpose(x) with the identity permutation          -> x
//   Transpose(Transpose(x, p), q)                        -> Transpose(x, p∘q)
//   Reshape(Reshape(x, a), b) with b free of 0s          -> Reshape(x, b)
//   Flatten / Squeeze / Unsqueeze / Reshape with a fully static output shape
//                                                        -> Reshape(x, constant shape)
//   PRelu(x, slope [C]) with x [N, C, ...], as opset 6 broadcast it over the channels
//                                                        -> PRelu(x, Reshape(slope, [C, 1, ...]))
// Canonicalization is best-effort: it iterates to a fixed point or a round limit.
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

// Replaces n's first output by `v` everywhere; n becomes dead.
bool forward(Node* n, Value* v) {
  Value* out = n->output(0);
  if (!out || !v || out == v) return false;
  // A graph output must stay a value of that graph; inputs of an enclosing graph cannot stand in.
  if (out->is_graph_output() && v->owner() != out->owner()) return false;
  out->replace_all_uses_with(v);
  return true;
}

// A Dropout that passes x through: inference mode, or a ratio of 0 (torch exports
// nn.Dropout(0.0) in training mode), with its mask unused.
bool is_inference_dropout(const Node* n) {
  if (n->num_outputs() > 1 && n->output(1) && n->output(1)->has_uses()) return false;
  if (n->opset() >= 12 ? is_constant_value(n->input(1), 0.0) : n->attr_float("ratio", 0.5f) == 0.0f)
    return true;
  if (n->attr_int("is_test", 1) == 0 && n->opset() < 7) return false;
  if (n->input(2)) {  // training_mode
    const Tensor* t = n->input(2)->constant();
    if (!t || t->numel() != 1 || t->as_int(0) != 0) return false;
  }
  return true;
}

bool same_type(const Value* a, const Value* b) {
  return a->type().is_tensor() && b->type().is_tensor() && a->dtype() == b->dtype() &&
         a->shape().has_rank() && a->shape() == b->shape();
}

std::vector<int64_t> perm_of(const Node* n) {
  std::vector<int64_t> p = n->attr_ints("perm", std::vector<int64_t>{});
  if (p.empty() && n->input(0)->shape().has_rank()) {
    int64_t r = int64_t(n->input(0)->shape().rank());
    for (int64_t i = 0; i < r; ++i) p.push_back(r - 1 - i);
  }
  return p;
}

Value* static_shape_constant(Graph& g, const Value* out) {
  std::vector<int64_t> dims = out->shape().static_dims();
  return g.add_constant(g.unique_name(out->name() + "_shape"),
                        Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
}

// One rewrite of n, if any applies. Returns true if the graph changed.
bool rewrite(Graph& g, Node* n) {
  Value* x = n->input(0);
  Value* out = n->output(0);
  if (!x || !out) return false;
  switch (n->kind()) {
    case OpKind::Identity:
      return x->type().is_tensor() && forward(n, x);
    case OpKind::Dropout:
      return is_inference_dropout(n) && forward(n, x);
    case OpKind::Cast:
    case OpKind::Expand:
      return same_type(x, out) && forward(n, x);
    case OpKind::Transpose: {
      std::vector<int64_t> p = perm_of(n);
      bool identity = !p.empty();
      for (size_t i = 0; i < p.size(); ++i) identity &= p[i] == int64_t(i);
      if (identity || (p.empty() && x->shape().has_rank() && x->shape().rank() <= 1))
        return forward(n, x);
      if (Node* inner = producer_of(x, OpKind::Transpose); inner && !p.empty()) {
        std::vector<int64_t> q = perm_of(inner);
        if (q.size() != p.size()) return false;
        std::vector<int64_t> composed;
        for (int64_t i : p) composed.push_back(q[size_t(i)]);
        n->set_input(0, inner->input(0));
        n->set_attr("perm", Attribute::of_ints(composed));
        return true;
      }
      return false;
    }
    case OpKind::Flatten:
    case OpKind::Squeeze:
    case OpKind::Unsqueeze:
    case OpKind::Reshape: {
      if (!out->type().is_tensor() || !out->shape().is_static()) {
        // Reshape(Reshape(x, a), b): b alone decides when it copies no dims (no 0s).
        if (n->kind() != OpKind::Reshape) return false;
        Node* inner = producer_of(x, OpKind::Reshape);
        const Tensor* b = n->input(1) ? n->input(1)->constant() : nullptr;
        if (!inner || !b) return false;
        for (int64_t v : b->to_int_vector())
          if (v == 0) return false;
        n->set_input(0, inner->input(0));
        return true;
      }
      if (same_type(x, out)) return forward(n, x);
      // Already canonical: a Reshape of a non-Reshape with a constant shape.
      bool canonical = n->kind() == OpKind::Reshape && n->input(1) && n->input(1)->is_constant() &&
                       !producer_of(x, OpKind::Reshape) && n->num_inputs() == 2;
      if (canonical) return false;
      Value* src = x;
      while (Node* inner = producer_of(src, OpKind::Reshape)) src = inner->input(0);
      Node* r = g.create_node(OpKind::Reshape, {src, static_shape_constant(g, out)}, 1, n,
                              n->name().empty() ? "" : g.unique_name(n->name()));
      r->output(0)->set_type(out->type());
      return forward(n, r->output(0));
    }
    case OpKind::PRelu: {
      // The reference's test (reference/elementwise.cc prelu_k): a [C] slope that matches axis 1
      // and not the last axis, which NumPy broadcasting would use.
      Value* slope = n->input(1);
      if (!slope || !x->shape().is_static() || !slope->shape().is_static()) return false;
      std::vector<int64_t> xd = x->shape().static_dims(), sd = slope->shape().static_dims();
      if (sd.size() != 1 || xd.size() <= 2 || sd[0] != xd[1] || sd[0] == xd.back()) return false;
      std::vector<int64_t> dims(xd.size() - 1, 1);
      dims[0] = sd[0];
      Value* shape = g.add_constant(g.unique_name(slope->name() + "_channels"),
                                    Tensor::from_vector<int64_t>({int64_t(dims.size())}, dims));
      Node* r = g.create_node(OpKind::Reshape, {slope, shape}, 1, n,
                              g.unique_name(slope->name() + "_per_channel"));
      r->output(0)->set_type(Type::tensor(slope->dtype(), Shape(std::vector<Dim>(dims.begin(), dims.end()))));
      n->set_input(1, r->output(0));
      return true;
    }
    default:
      return false;
  }
}

}  // namespace

void canonicalize(Model& m) {
  for (int round = 0; round < 8; ++round) {
    bool changed = false;
    for (Graph* g : all_graphs(m)) {
      std::vector<Node*> order;
      for (const auto& n : g->nodes()) order.push_back(n.get());
      for (Node* n : order) changed |= rewrite(*g, n);
    }
    eliminate_dead_code(m);
    if (!changed) break;
  }
}

}  // namespace eave
