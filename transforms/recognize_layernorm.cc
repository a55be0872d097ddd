// LayerNorm recognition. Exporters that predate the LayerNormalization op (or models written by
// hand) spell it out:
//   m = ReduceMean(x, axes); d = x - m; v = ReduceMean(d*d or d^2, axes);
//   n = d / Sqrt(v + eps); y = n * gamma + beta
// over trailing axes. One LayerNormalization(x, gamma, beta, axis, epsilon) computes the same
// and lowers to one kernel that reads x once for both statistics.
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

// Trailing axes [r-k .. r-1] of rank r as the first axis r-k; nullopt otherwise.
std::optional<int64_t> trailing_axis(std::vector<int64_t> axes, int64_t r) {
  if (axes.empty()) return std::nullopt;
  for (int64_t& a : axes) a = a < 0 ? a + r : a;
  std::sort(axes.begin(), axes.end());
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != r - int64_t(axes.size()) + int64_t(i)) return std::nullopt;
  return axes[0];
}

// A constant reshaped to the normalized shape (the dims from `axis` on), or nullptr.
Value* as_param(Graph& g, Value* v, const Shape& xs, int64_t axis, const std::string& name) {
  if (!v->is_constant()) return nullptr;
  std::vector<int64_t> dims;
  for (size_t i = size_t(axis); i < xs.rank(); ++i) {
    if (!xs[i].is_const()) return nullptr;
    dims.push_back(xs[i].value());
  }
  const Tensor& t = *v->constant();
  if (t.numel() == shape_numel(dims)) return g.add_constant(g.unique_name(name), t.reshaped(dims));
  if (t.numel() == 1) {  // a scalar scale or shift: broadcast it
    Tensor full(t.dtype(), dims);
    Tensor one = t.cast(DType::F64);
    Tensor d = full.cast(DType::F64);
    for (auto& e : d.mutable_span<double>()) e = one.data<double>()[0];
    return g.add_constant(g.unique_name(name), d.cast(t.dtype()));
  }
  return nullptr;
}

bool match_at(Graph& g, Node* div) {
  Value* d = div->input(0);
  Value* s = div->input(1);
  Node* sub = producer_of(d, OpKind::Sub);
  Node* sqrt = producer_of(s, OpKind::Sqrt);
  if (!sub || !sqrt) return false;
  Value* x = sub->input(0);
  Node* mean = producer_of(sub->input(1), OpKind::ReduceMean);
  if (!mean || mean->input(0) != x || mean->attr_int("keepdims", 1) == 0) return false;
  Node* add_eps = producer_of(sqrt->input(0), OpKind::Add);
  if (!add_eps) return false;
  Value* v = add_eps->input(0);
  auto eps = scalar_constant(add_eps->input(1));
  if (!eps) {
    v = add_eps->input(1);
    eps = scalar_constant(add_eps->input(0));
  }
  Node* var = producer_of(v, OpKind::ReduceMean);
  if (!eps || !var || var->attr_int("keepdims", 1) == 0) return false;
  Node* sq = var->input(0)->producer();
  bool squares_d = sq && ((sq->kind() == OpKind::Pow && sq->input(0) == d &&
                           is_constant_value(sq->input(1), 2.0)) ||
                          (sq->kind() == OpKind::Mul && sq->input(0) == d && sq->input(1) == d));
  if (!squares_d) return false;
  if (!x->shape().has_rank() || !is_float(x->dtype())) return false;
  int64_t r = int64_t(x->shape().rank());
  auto ax1 = reduce_axes(mean), ax2 = reduce_axes(var);
  if (!ax1 || !ax2) return false;
  auto axis = trailing_axis(*ax1, r);
  if (!axis || trailing_axis(*ax2, r) != axis) return false;
  // Every intermediate must be private to the pattern (d feeds exactly the square and the Div).
  if (!single_use(mean->output(0)) || !single_use(var->output(0)) ||
      !single_use(add_eps->output(0)) || !single_use(s) || !single_use(sq->output(0)) ||
      d->uses().size() != (sq->kind() == OpKind::Mul ? 3u : 2u) || d->is_graph_output())
    return false;

  Value* out = div->output(0);
  Value* gamma = nullptr;
  Value* beta = nullptr;
  if (Node* mul = sole_user(out, OpKind::Mul)) {
    if (Value* gm = other_input(mul, out); gm && (gamma = as_param(g, gm, x->shape(), *axis, div->name() + "_gamma"))) {
      out = mul->output(0);
      if (Node* add = sole_user(out, OpKind::Add)) {
        if (Value* b = other_input(add, out); b && (beta = as_param(g, b, x->shape(), *axis, div->name() + "_beta")))
          out = add->output(0);
      }
    }
  }
  if (!gamma) {
    Tensor one = Tensor::scalar<float>(1.0f).cast(x->dtype());
    Value* c = g.add_constant(g.unique_name("one"), one);
    gamma = as_param(g, c, x->shape(), *axis, div->name() + "_gamma");
    if (!gamma) return false;
  }
  std::vector<Value*> ins = {x, gamma};
  if (beta) ins.push_back(beta);
  Node* ln = g.create_node(OpKind::LayerNormalization, ins, 1, out->producer(),
                           g.unique_name(div->name() + "_layernorm"));
  ln->set_attr("axis", Attribute::of_int(*axis));
  ln->set_attr("epsilon", Attribute::of_float(float(*eps)));
  infer_new_node(ln);
  out->replace_all_uses_with(ln->output(0));
  return true;
}

}  // namespace

void recognize_layernorm(Model& m) {
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> divs;
    for (const auto& n : g->nodes())
      if (n->kind() == OpKind::Div) divs.push_back(n.get());
    for (Node* n : divs) match_at(*g, n);
  }
  eliminate_dead_code(m);
}

}  // namespace eave
