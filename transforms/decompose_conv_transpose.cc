// ConvTranspose whose kernel tiles the output without overlap (strides equal to the kernel, no
// padding or dilation, one group: the 2x2 stride-2 upsampling of segmentation and detection
// heads) is a matrix product followed by a rearrangement:
//
//   y[n, m, i*kh + a, j*kw + b] = bias[m] + sum_c x[n, c, i, j] * w[c, m, a, b]
//
// so it becomes Transpose(x to NHWC) -> MatMul with w as [C, M*kh*kw] -> Reshape to
// [N, H, W, M, kh, kw] -> Transpose to [N, M, H, kh, W, kw] -> Reshape to [N, M, H*kh, W*kw]
// (-> Add bias). The product then runs as a generated GEMM kernel with packed weights instead
// of a convolution builtin.
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

bool all_equal(const std::vector<int64_t>& v, int64_t x) {
  for (int64_t e : v)
    if (e != x) return false;
  return true;
}

bool decompose(Graph& g, Node* n) {
  Value* x = n->input(0);
  Value* w = n->num_inputs() > 1 ? n->input(1) : nullptr;
  Value* b = n->num_inputs() > 2 ? n->input(2) : nullptr;
  if (!x || !w || !w->is_constant() || (b && !b->is_constant())) return false;
  if (!is_float(x->dtype()) || !x->shape().is_static() || x->shape().rank() != 4) return false;
  const Tensor& wt = *w->constant();
  if (wt.rank() != 4 || wt.dtype() != x->dtype()) return false;
  std::vector<int64_t> xd = x->shape().static_dims();
  int64_t c = xd[1], m = wt.dim(1), kh = wt.dim(2), kw = wt.dim(3);
  if (wt.dim(0) != c || n->attr_int("group", 1) != 1) return false;
  std::string auto_pad = n->attr_string("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;
  if (n->find_attr("output_shape")) return false;
  auto attr = [&](const char* name, std::vector<int64_t> dflt) {
    return n->attr_ints(name, std::move(dflt));
  };
  if (attr("strides", {1, 1}) != std::vector<int64_t>{kh, kw} ||
      attr("kernel_shape", {kh, kw}) != std::vector<int64_t>{kh, kw} ||
      !all_equal(attr("dilations", {1, 1}), 1) || !all_equal(attr("pads", {0, 0, 0, 0}), 0) ||
      !all_equal(attr("output_padding", {0, 0}), 0))
    return false;
  if (b && b->constant()->numel() != m) return false;

  const int64_t batch = xd[0], h = xd[2], wd = xd[3];
  const std::string base = n->name().empty() ? "conv_transpose" : n->name();
  auto ints = [&](const std::string& name, std::vector<int64_t> v) {
    return g.add_constant(g.unique_name(base + "_" + name),
                          Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  };
  auto make = [&](OpKind k, std::vector<Value*> ins, const std::string& name) {
    return g.create_node(k, std::move(ins), 1, n, g.unique_name(base + "_" + name));
  };
  Node* to_nhwc = make(OpKind::Transpose, {x}, "nhwc");
  to_nhwc->set_attr("perm", Attribute::of_ints({0, 2, 3, 1}));
  infer_new_node(to_nhwc);
  Value* w2 = g.add_constant(g.unique_name(base + "_weights"), wt.reshaped({c, m * kh * kw}));
  Node* mm = make(OpKind::MatMul, {to_nhwc->output(0), w2}, "matmul");
  infer_new_node(mm);
  Node* split = make(OpKind::Reshape, {mm->output(0), ints("split", {batch, h, wd, m, kh, kw})}, "split");
  infer_new_node(split);
  Node* interleave = make(OpKind::Transpose, {split->output(0)}, "interleave");
  interleave->set_attr("perm", Attribute::of_ints({0, 3, 1, 4, 2, 5}));
  infer_new_node(interleave);
  Node* merge = make(OpKind::Reshape, {interleave->output(0), ints("merge", {batch, m, h * kh, wd * kw})},
                     "merge");
  infer_new_node(merge);
  Value* y = merge->output(0);
  if (b) {
    Value* bias = g.add_constant(g.unique_name(base + "_bias"), b->constant()->reshaped({m, 1, 1}));
    Node* add = make(OpKind::Add, {y, bias}, "bias");
    infer_new_node(add);
    y = add->output(0);
  }
  n->output(0)->replace_all_uses_with(y);
  g.erase_node(n);
  return true;
}

}  // namespace

void decompose_conv_transpose(Model& m) {
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> found;
    for (const auto& n : g->nodes())
      if (n->kind() == OpKind::ConvTranspose) found.push_back(n.get());
    for (Node* n : found) decompose(*g, n);
    g->remove_dead_values();
  }
}

}  // namespace eave
