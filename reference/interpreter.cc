#include "reference/interpreter.h"

#include <map>
#include <unordered_map>
#include <unordered_set>

#include "reference/kernel.h"
#include "support/error.h"

namespace eave::ref {

// ---------------------------------------------------------------- KernelContext

const Tensor& KernelContext::input(size_t i) const {
  const ValueData& v = value(i);
  if (!v.is_tensor()) fail("input ", i, " must be a tensor");
  return v.tensor;
}

const ValueData& KernelContext::value(size_t i) const {
  if (i >= inputs_.size() || !inputs_[i]) fail("required input ", i, " is missing");
  return *inputs_[i];
}

void KernelContext::set_output(size_t i, ValueData v) {
  EAVE_ASSERT(i < outputs_.size());
  outputs_[i] = std::move(v);
}

// ---------------------------------------------------------------- registry

const KernelRegistry& KernelRegistry::get() {
  static const KernelRegistry* r = [] {
    auto* reg = new KernelRegistry();
#define EAVE_REFERENCE_FAMILY(name) register_##name##_kernels(*reg);
#include "reference/families.def"
#undef EAVE_REFERENCE_FAMILY
    return reg;
  }();
  return *r;
}

void KernelRegistry::add(OpKind kind, KernelFn fn) {
  EAVE_ASSERT(size_t(kind) < fns_.size());
  if (fns_[size_t(kind)]) internal_fail("two reference kernels for ", op_kind_name(kind));
  fns_[size_t(kind)] = fn;
}

std::vector<OpKind> KernelRegistry::kinds() const {
  std::vector<OpKind> out;
  for (size_t i = 0; i < fns_.size(); ++i)
    if (fns_[i]) out.push_back(OpKind(i));
  return out;
}

// ---------------------------------------------------------------- interpreter

namespace {

class Env {
 public:
  explicit Env(const Env* parent) : parent_(parent) {}
  const ValueData* find(const Value* v) const {
    for (const Env* e = this; e; e = e->parent_) {
      auto it = e->values_.find(v);
      if (it != e->values_.end()) return &it->second;
    }
    return nullptr;
  }
  void set(const Value* v, ValueData d) { values_[v] = std::move(d); }
  void erase(const Value* v) { values_.erase(v); }

 private:
  const Env* parent_;
  std::unordered_map<const Value*, ValueData> values_;
};

// Values of graph `g` that node `n` reads directly or from within its subgraphs.
void collect_reads(const Node& n, const Graph& g, std::unordered_set<const Value*>& out) {
  for (const Value* v : n.inputs())
    if (v && v->owner() == &g) out.insert(v);
  for (const Graph* sub : n.subgraphs()) {
    for (const auto& inner : sub->nodes()) collect_reads(*inner, g, out);
    for (const Value* v : sub->outputs())
      if (v && v->owner() == &g) out.insert(v);
  }
}

std::string type_of(const ValueData& v) {
  switch (v.kind) {
    case ValueData::Kind::Tensor:
      return std::string(dtype_name(v.tensor.dtype())) + dims_str(v.tensor.dims());
    case ValueData::Kind::Sequence: return "sequence of " + std::to_string(v.sequence.size());
    case ValueData::Kind::None: return "empty optional";
  }
  return "?";
}

class Interpreter {
 public:
  explicit Interpreter(const InterpreterOptions& opts) : opts_(opts) {}

  std::vector<ValueData> run(const Graph& g, std::vector<ValueData> inputs, const Env* parent,
                             bool top) {
    EAVE_CHECK(inputs.size() <= g.inputs().size(), "graph '", g.name(), "' takes ",
               g.inputs().size(), " inputs, got ", inputs.size());
    Env env(parent);
    for (size_t i = 0; i < inputs.size(); ++i) env.set(g.inputs()[i], std::move(inputs[i]));
    for (size_t i = inputs.size(); i < g.inputs().size(); ++i)
      env.set(g.inputs()[i], ValueData::none(g.inputs()[i]->type()));

    // Free each intermediate after the last node that reads it.
    std::unordered_map<const Value*, const Node*> last_reader;
    for (const auto& n : g.nodes()) {
      std::unordered_set<const Value*> reads;
      collect_reads(*n, g, reads);
      for (const Value* v : reads) last_reader[v] = n.get();
    }
    std::unordered_set<const Value*> keep(g.outputs().begin(), g.outputs().end());
    std::unordered_map<const Node*, std::vector<const Value*>> release;
    for (const auto& [v, n] : last_reader)
      if (!keep.count(v) && v->producer()) release[n].push_back(v);

    for (const auto& n : g.nodes()) {
      run_node(*n, env);
      if (top && opts_.on_node) {
        std::vector<ValueData> outs;
        for (const Value* v : n->outputs()) {
          const ValueData* d = v ? env.find(v) : nullptr;
          outs.push_back(d ? *d : ValueData());
        }
        opts_.on_node(*n, outs);
      }
      if (auto it = release.find(n.get()); it != release.end())
        for (const Value* v : it->second) env.erase(v);
    }
    std::vector<ValueData> outs;
    for (const Value* v : g.outputs()) outs.push_back(lookup(env, v, "graph '" + g.name() + "'"));
    return outs;
  }

 private:
  const ValueData& lookup(Env& env, const Value* v, const std::string& who) {
    if (const ValueData* d = env.find(v)) return *d;
    if (v->is_constant()) {
      env.set(v, ValueData(*v->constant()));
      return *env.find(v);
    }
    fail(who, ": value '", v->name(), "' has not been computed");
  }

  void run_node(const Node& n, Env& env) {
    KernelFn fn = KernelRegistry::get().find(n.kind());
    if (!fn) {
      if (n.kind() == OpKind::Unknown)
        fail(n.describe(), ": unknown op");
      if (std::string(op_kind_domain(n.kind())) == "ai.onnx.preview.training")
        fail(n.describe(), ": training ops are not supported");
      fail(n.describe(), ": op is not supported by the reference interpreter");
    }
    std::vector<const ValueData*> ins;
    for (const Value* v : n.inputs()) ins.push_back(v ? &lookup(env, v, n.describe()) : nullptr);
    const Env* env_ptr = &env;
    KernelContext ctx(n, std::move(ins), [this, env_ptr](const Graph& g, std::vector<ValueData> in) {
      return run(g, std::move(in), env_ptr, false);
    });
    fn(ctx);
    for (size_t i = 0; i < n.num_outputs(); ++i) {
      const Value* v = n.output(i);
      if (!v) continue;
      ValueData& out = ctx.outputs()[i];
      if (out.is_tensor() && !out.tensor.defined())
        internal_fail(n.describe(), ": reference kernel did not set output ", i);
      env.set(v, std::move(out));
    }
  }

  const InterpreterOptions& opts_;
};

}  // namespace

std::vector<ValueData> bind_inputs(const Graph& g, const NamedValues& inputs) {
  std::map<std::string, const ValueData*> given;
  for (const auto& [name, v] : inputs) {
    EAVE_CHECK(given.emplace(name, &v).second, "input '", name, "' is given twice");
  }
  std::string names;
  for (const Value* v : g.inputs()) names += (names.empty() ? "" : ", ") + v->name();
  for (const auto& [name, v] : given) {
    bool found = false;
    for (const Value* in : g.inputs()) found |= in->name() == name;
    EAVE_CHECK(found, "unknown input '", name, "'; the model's inputs are: ", names);
  }
  std::map<std::string, std::pair<int64_t, std::string>> bound;  // symbol -> (value, input)
  std::vector<ValueData> out;
  for (const Value* in : g.inputs()) {
    auto it = given.find(in->name());
    const Type& t = in->type();
    if (it == given.end()) {
      if (t.kind == TypeKind::Optional) {
        out.push_back(ValueData::none(t.elem ? *t.elem : Type{}));
        continue;
      }
      fail("missing input '", in->name(), "' (", t.str(), ")");
    }
    const ValueData& v = *it->second;
    const Type& want = t.kind == TypeKind::Optional && t.elem ? *t.elem : t;
    if (want.kind == TypeKind::Tensor) {
      EAVE_CHECK(v.is_tensor(), "input '", in->name(), "' expects a tensor ", want.str(), ", got ",
                 type_of(v));
      const Tensor& x = v.tensor;
      if (want.dtype != DType::Undefined)
        EAVE_CHECK(x.dtype() == want.dtype, "input '", in->name(), "' expects element type ",
                   dtype_name(want.dtype), ", got ", dtype_name(x.dtype()));
      if (want.shape.has_rank()) {
        EAVE_CHECK(x.rank() == want.shape.rank(), "input '", in->name(), "' expects rank ",
                   want.shape.rank(), " (", want.shape.str(), "), got shape ", dims_str(x.dims()));
        for (size_t d = 0; d < x.rank(); ++d) {
          const Dim& dim = want.shape[d];
          if (dim.is_const()) {
            EAVE_CHECK(dim.value() == x.dim(d), "input '", in->name(), "' dimension ", d,
                       " must be ", dim.value(), " (", want.shape.str(), "), got shape ",
                       dims_str(x.dims()));
          } else if (dim.is_symbol()) {
            const std::string& s = dim.symbol_name();
            auto [b, inserted] = bound.emplace(s, std::make_pair(x.dim(d), in->name()));
            EAVE_CHECK(inserted || b->second.first == x.dim(d), "input '", in->name(),
                       "' dimension ", d, " ('", s, "') is ", x.dim(d), " but it is ",
                       b->second.first, " in input '", b->second.second, "'");
          }
        }
      }
    } else if (want.kind == TypeKind::Sequence) {
      EAVE_CHECK(v.is_sequence() || v.is_none(), "input '", in->name(), "' expects a sequence, got ",
                 type_of(v));
    }
    out.push_back(v);
  }
  return out;
}

std::vector<ValueData> run_node(const Node& n, const std::vector<const ValueData*>& inputs) {
  KernelFn fn = KernelRegistry::get().find(n.kind());
  if (!fn) fail(n.describe(), ": op is not supported by the reference interpreter");
  KernelContext ctx(n, inputs, [&n](const Graph&, std::vector<ValueData>) -> std::vector<ValueData> {
    fail(n.describe(), ": subgraphs cannot run outside a model");
  });
  fn(ctx);
  return std::move(ctx.outputs());
}

bool has_kernel(OpKind kind) { return KernelRegistry::get().find(kind) != nullptr; }

std::vector<ValueData> run_model(const Model& m, const NamedValues& inputs,
                                 const InterpreterOptions& opts) {
  std::vector<ValueData> bound = bind_inputs(*m.graph, inputs);
  Interpreter interp(opts);
  return interp.run(*m.graph, std::move(bound), nullptr, true);
}

}  // namespace eave::ref
