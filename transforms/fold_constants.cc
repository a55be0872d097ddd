// Constant folding: a node whose inputs are all constants is evaluated at compile time with its
// reference kernel (the same definition every backend is tested against) and replaced by the
// constant it produces. Integer tensors whose values shape inference knows exactly (Shape of a
// statically shaped tensor, arithmetic on it) fold the same way. Folding that would grow the
// model (Expand or ConstantOfShape into a large tensor) is left to run time.
#include "ir/shape_inference.h"
#include "reference/interpreter.h"
#include "transforms/match.h"
#include "transforms/passes.h"

namespace eave {

namespace {

constexpr size_t kGrowthAllowance = 64 * 1024;  // bytes a fold may add beyond its inputs

bool is_nondeterministic(OpKind k) {
  switch (k) {
    case OpKind::RandomNormal: case OpKind::RandomNormalLike: case OpKind::RandomUniform:
    case OpKind::RandomUniformLike: case OpKind::Bernoulli: case OpKind::Multinomial:
      return true;
    default:
      return false;
  }
}

size_t value_bytes(const ValueData& v) {
  if (v.is_tensor()) return v.tensor.dtype() == DType::String ? 0 : v.tensor.nbytes();
  return 0;
}

// Folds outputs whose values shape inference already knows as constants.
bool fold_known_values(Graph& g, Node* n) {
  bool all = n->num_outputs() > 0;
  for (Value* v : n->outputs()) {
    if (!v || !v->sym_data() || !is_integer(v->dtype()) || !v->shape().is_static()) {
      all = false;
      break;
    }
    for (const Dim& d : *v->sym_data()) all &= d.is_const();
  }
  if (!all) return false;
  for (Value* v : n->outputs()) {
    std::vector<int64_t> vals;
    for (const Dim& d : *v->sym_data()) vals.push_back(d.value());
    Tensor t = Tensor::from_vector<int64_t>(v->shape().static_dims(), vals);
    if (v->dtype() != DType::I64) t = t.cast(v->dtype());
    Value* c = g.add_constant(g.unique_name(v->name() + "_folded"), std::move(t));
    v->replace_all_uses_with(c);
  }
  return true;
}

bool fold_node(Graph& g, Node* n) {
  if (!n->subgraphs().empty() || is_nondeterministic(n->kind())) return false;
  if (fold_known_values(g, n)) return true;
  if (!ref::has_kernel(n->kind())) return false;
  std::vector<const ValueData*> ins;
  std::vector<ValueData> storage(n->num_inputs());
  size_t in_bytes = 0;
  for (size_t i = 0; i < n->num_inputs(); ++i) {
    Value* v = n->input(i);
    if (!v) {
      ins.push_back(nullptr);
      continue;
    }
    if (!v->is_constant()) return false;
    storage[i] = ValueData(*v->constant());
    in_bytes += value_bytes(storage[i]);
    ins.push_back(&storage[i]);
  }
  std::vector<ValueData> outs;
  try {
    outs = ref::run_node(*n, ins);
  } catch (const Error&) {
    return false;  // an error here is the model's, and shows when (if) the node runs
  }
  size_t out_bytes = 0;
  for (const auto& o : outs) {
    if (!o.is_tensor()) return false;
    out_bytes += value_bytes(o);
  }
  if (out_bytes > in_bytes + kGrowthAllowance) return false;
  for (size_t i = 0; i < n->num_outputs(); ++i) {
    Value* v = n->output(i);
    if (!v) continue;
    Value* c = g.add_constant(g.unique_name(v->name() + "_folded"), std::move(outs[i].tensor));
    v->replace_all_uses_with(c);
  }
  return true;
}

}  // namespace

size_t fold_constants(Model& m) {
  size_t folded = 0;
  for (Graph* g : all_graphs(m)) {
    std::vector<Node*> dead;
    for (const auto& n : g->nodes())
      if (fold_node(*g, n.get())) dead.push_back(n.get());
    for (Node* n : dead) g->erase_node(n);
    g->remove_dead_values();
    folded += dead.size();
  }
  return folded;
}

}  // namespace eave
