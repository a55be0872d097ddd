// BatchNormalization folding. In inference BN is y = x * s + t per channel, with
// s = scale / sqrt(var + eps) and t = bias - mean * s. When x comes only from a Conv,
// ConvTranspose or Gemm with constant weights, s and t fold into those weights and bias and
// the BN disappears; otherwise the BN becomes Mul(x, s) and Add(., t) with constant s and t,
// which epilogue fusion then absorbs into the producer of x.
#include <cmath>

#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

struct ScaleShift {
  std::vector<double> s, t;
};

std::optional<ScaleShift> bn_params(const Node* bn) {
  if (bn->num_outputs() > 1) {
    for (size_t i = 1; i < bn->num_outputs(); ++i)
      if (bn->output(i) && bn->output(i)->has_uses()) return std::nullopt;
  }
  if (bn->attr_int("training_mode", 0) != 0) return std::nullopt;
  for (size_t i = 1; i <= 4; ++i)
    if (!bn->input(i) || !bn->input(i)->is_constant()) return std::nullopt;
  const Tensor& scale = *bn->input(1)->constant();
  const Tensor& bias = *bn->input(2)->constant();
  const Tensor& mean = *bn->input(3)->constant();
  const Tensor& var = *bn->input(4)->constant();
  int64_t c = scale.numel();
  if (bias.numel() != c || mean.numel() != c || var.numel() != c) return std::nullopt;
  double eps = bn->attr_float("epsilon", 1e-5f);
  ScaleShift p;
  for (int64_t i = 0; i < c; ++i) {
    double s = scale.as_double(i) / std::sqrt(var.as_double(i) + eps);
    p.s.push_back(s);
    p.t.push_back(bias.as_double(i) - mean.as_double(i) * s);
  }
  return p;
}

Tensor vector_like(const Tensor& like_dtype_of, const std::vector<double>& v,
                   std::vector<int64_t> dims) {
  Tensor t = Tensor::from_vector<double>(std::move(dims), v);
  return t.cast(like_dtype_of.dtype());
}

// Scales weight slices along `axis` (output channels) by s, with `group` handled for
// ConvTranspose where output channels are axis 1 within each group.
Tensor scale_weights(const Tensor& w, const std::vector<double>& s, int64_t axis, int64_t group) {
  Tensor d = w.cast(DType::F64);
  double* p = d.mutable_data<double>();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= w.dim(size_t(i));
  for (size_t i = size_t(axis) + 1; i < w.rank(); ++i) inner *= w.dim(i);
  int64_t n = w.dim(size_t(axis));
  for (int64_t o = 0; o < outer; ++o) {
    // For ConvTranspose weights [C_in, C_out/group, ...], channel = (o / (C_in/group)) * n + k.
    int64_t group_base = group > 1 ? (o / (outer / group)) * n : 0;
    for (int64_t k = 0; k < n; ++k)
      for (int64_t i = 0; i < inner; ++i) p[(o * n + k) * inner + i] *= s[size_t(group_base + k)];
  }
  return d.cast(w.dtype());
}

bool fold_into_producer(Graph& g, Node* bn, const ScaleShift& p) {
  Value* x = bn->input(0);
  Node* prod = x->producer();
  if (!prod || !single_use(x)) return false;
  bool conv = prod->kind() == OpKind::Conv;
  bool convt = prod->kind() == OpKind::ConvTranspose;
  bool gemm = prod->kind() == OpKind::Gemm && x->shape().has_rank() && x->shape().rank() == 2;
  if (!conv && !convt && !gemm) return false;
  Value* w = prod->input(1);
  Value* b = prod->input(2);
  if (!w || !w->is_constant() || (b && !b->is_constant())) return false;
  const Tensor& wt = *w->constant();
  if (!is_float(wt.dtype())) return false;
  int64_t channels = int64_t(p.s.size());
  int64_t axis = 0, group = 1;
  if (convt) {
    axis = 1;
    group = prod->attr_int("group", 1);
  }
  if (gemm) {
    if (prod->attr_int("transB", 0) == 0) axis = 1;
    if (prod->attr_float("alpha", 1.0f) != 1.0f) return false;
    // Gemm's C broadcasts to [M, N]: fold only a per-column (or scalar) C.
    if (b && b->constant()->numel() != 1 && b->constant()->numel() != channels) return false;
  }
  if (wt.rank() < 2 || wt.dim(size_t(axis)) * group != channels) return false;
  if (b && (b->constant()->numel() != channels && !(gemm && b->constant()->numel() == 1)))
    return false;

  Tensor new_w = scale_weights(wt, p.s, axis, group);
  std::vector<double> new_b(static_cast<size_t>(channels));
  double beta = gemm ? prod->attr_float("beta", 1.0f) : 1.0;
  for (int64_t c = 0; c < channels; ++c) {
    double old = b ? b->constant()->as_double(b->constant()->numel() == 1 ? 0 : c) * beta : 0.0;
    new_b[size_t(c)] = old * p.s[size_t(c)] + p.t[size_t(c)];
  }
  Value* wv = g.add_constant(g.unique_name(w->name() + "_bn"), std::move(new_w));
  Value* bv = g.add_constant(g.unique_name(prod->name() + "_bias_bn"),
                             vector_like(wt, new_b, {channels}));
  prod->set_input(1, wv);
  if (prod->num_inputs() < 3) prod->add_input(bv);
  else prod->set_input(2, bv);
  if (gemm) prod->set_attr("beta", Attribute::of_float(1.0f));
  bn->output(0)->replace_all_uses_with(x);
  return true;
}

// y = x * s + t with s, t shaped [C, 1, ..., 1] to broadcast over channel axis 1.
bool rewrite_as_scale_shift(Graph& g, Node* bn, const ScaleShift& p) {
  Value* x = bn->input(0);
  if (!x->shape().has_rank() || x->shape().rank() < 2 || !is_float(x->dtype())) return false;
  std::vector<int64_t> dims(x->shape().rank() - 1, 1);
  dims[0] = int64_t(p.s.size());
  Tensor like(x->dtype(), {});
  Value* s = g.add_constant(g.unique_name(bn->name() + "_scale"), vector_like(like, p.s, dims));
  Value* t = g.add_constant(g.unique_name(bn->name() + "_shift"), vector_like(like, p.t, dims));
  Node* mul = g.create_node(OpKind::Mul, {x, s}, 1, bn, bn->name() + "_mul");
  infer_new_node(mul);
  Node* add = g.create_node(OpKind::Add, {mul->output(0), t}, 1, bn, bn->name() + "_add");
  infer_new_node(add);
  bn->output(0)->replace_all_uses_with(add->output(0));
  return true;
}

}  // namespace

void fold_batchnorm(Model& m) {
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> bns;
    for (const auto& n : g->nodes())
      if (n->kind() == OpKind::BatchNormalization) bns.push_back(n.get());
    for (Node* bn : bns) {
      auto p = bn_params(bn);
      if (!p) continue;
      if (!fold_into_producer(*g, bn, *p)) rewrite_as_scale_shift(*g, bn, *p);
    }
  }
  eliminate_dead_code(m);
}

}  // namespace eave
