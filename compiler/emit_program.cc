#include "compiler/emit_program.h"

#include <unordered_map>
#include <unordered_set>

#include "codegen/builtin_attrs.h"
#include "support/error.h"

namespace eave {

using artifact::ArtifactWriter;
using artifact::Expr;
using artifact::ProgramBuilder;
using artifact::SymbolId;
using artifact::ValueId;

eave_dtype to_eave_dtype(DType t) {
  switch (t) {
    case DType::F32: return EAVE_DTYPE_F32;
    case DType::F16: return EAVE_DTYPE_F16;
    case DType::BF16: return EAVE_DTYPE_BF16;
    case DType::F64: return EAVE_DTYPE_F64;
    case DType::I8: return EAVE_DTYPE_I8;
    case DType::U8: return EAVE_DTYPE_U8;
    case DType::I16: return EAVE_DTYPE_I16;
    case DType::U16: return EAVE_DTYPE_U16;
    case DType::I32: return EAVE_DTYPE_I32;
    case DType::U32: return EAVE_DTYPE_U32;
    case DType::I64: return EAVE_DTYPE_I64;
    case DType::U64: return EAVE_DTYPE_U64;
    case DType::Bool: return EAVE_DTYPE_BOOL;
    default: return EAVE_DTYPE_UNDEFINED;
  }
}

std::optional<artifact::Builtin> builtin_for(OpKind kind) {
  switch (kind) {
#define EAVE_OP_BUILTIN(Op, NAME) \
  case OpKind::Op:                \
    return artifact::Builtin::NAME;
#include "compiler/builtin_ops.def"
#undef EAVE_OP_BUILTIN
    default:
      return std::nullopt;
  }
}

namespace {

class Emitter {
 public:
  Emitter(ArtifactWriter& w, KernelGenerator* gen, const EmitOptions& opts)
      : w_(w), p_(w.main()), gen_(gen), opts_(opts) {}

  void run(const Graph& g, const std::vector<Dispatch>& dispatches) {
    for (const Value* v : g.inputs()) define_input_symbols(v);
    for (const Value* v : g.inputs()) {
      check_tensor(v, "input");
      ids_[v] = p_.add_input(v->name(), to_eave_dtype(v->dtype()), dims_of(v));
    }
    // Output slots, in order. A value produced by a step is written into its slot in place; one
    // that is an input, a constant, a view or a second slot of the same value gets a copy.
    std::unordered_set<const Value*> claimed;
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      const Value* v = g.outputs()[i];
      check_tensor(v, "output");
      // Passes may have replaced an output value (a folded constant, a recognized pattern):
      // the slot keeps the model's own name.
      const std::string& name = i < opts_.output_names.size() ? opts_.output_names[i] : v->name();
      ValueId slot = p_.add_output(name, to_eave_dtype(v->dtype()), dims_of(v));
      bool in_place = v->producer() && !is_alias_output(v, dispatches) && claimed.insert(v).second;
      if (in_place) ids_[v] = slot;
      else copies_.push_back({v, slot});
    }
    for (const Dispatch& d : dispatches) emit(d);
    for (const auto& [v, slot] : copies_)
      p_.add_builtin("copy " + v->name(), artifact::Builtin::COPY, {value_of(v)}, {slot});
  }

 private:
  // ---- symbols

  void define_input_symbols(const Value* v) {
    if (!v->type().is_tensor() || !v->shape().has_rank()) return;
    for (const Dim& d : v->shape().dims()) {
      if (!d.is_symbol() || symbols_.count(d.str())) continue;
      const std::string& name = d.symbol_name();
      DimBounds b;
      if (auto it = opts_.bounds.find(name); it != opts_.bounds.end()) b = it->second;
      symbols_[name] = w_.add_dim_symbol(name, {b.min, b.max}, b.nominal);
      start_time_.insert(symbols_[name]);
    }
  }

  // The expression for `d` if every symbol in it is already defined; nullopt otherwise.
  std::optional<Expr> expr_of(const Dim& d) {
    Dim::Expansion e = d.expand();
    Expr sum(e.constant);
    for (const auto& t : e.terms) {
      Expr prod(t.coeff);
      for (const auto& a : t.factors) {
        std::optional<Expr> f;
        if (a.kind == Dim::AtomKind::Symbol) {
          auto it = symbols_.find(a.name);
          if (it == symbols_.end()) return std::nullopt;
          f = Expr::sym(it->second);
        } else {
          auto x = expr_of(*a.a), y = expr_of(*a.b);
          if (!x || !y) return std::nullopt;
          switch (a.kind) {
            case Dim::AtomKind::FloorDiv: f = floor_div(*x, *y); break;
            case Dim::AtomKind::CeilDiv: f = ceil_div(*x, *y); break;
            case Dim::AtomKind::Mod: f = mod(*x, *y); break;
            case Dim::AtomKind::Max: f = max(*x, *y); break;
            case Dim::AtomKind::Min: f = min(*x, *y); break;
            case Dim::AtomKind::Symbol: break;
          }
        }
        prod = prod * *f;
      }
      sum = sum + prod;
    }
    return sum;
  }

  bool only_start_time(const Dim& d) {
    for (const auto& s : d.symbols()) {
      auto it = symbols_.find(s);
      if (it == symbols_.end() || !start_time_.count(it->second)) return false;
    }
    return true;
  }

  // The symbol holding a symbolic dim. Expressions over known symbols are computed by the
  // runtime (at program start when they only involve input dims); dims nothing defines yet are
  // RUNTIME symbols that the builtin producing them sets. An expression met before its symbols
  // are (an output slot's dims, made before any step) gets a RUNTIME symbol of its own, which
  // the step writing the slot defines; values made once its symbols are known compute it.
  SymbolId symbol_of(const Dim& d) {
    EAVE_ASSERT(!d.is_const());
    std::string key = d.str();
    if (auto it = symbols_.find(key); it != symbols_.end()) {
      if (!early_.count(key)) return it->second;
      if (!expr_of(d)) return it->second;
      symbols_.erase(it);
      early_.erase(key);
    }
    SymbolId id;
    if (auto e = expr_of(d)) {
      bool start = only_start_time(d);
      id = w_.add_expr_symbol(key, *e, {}, p_.id(), start ? -1 : int32_t(p_.step_count()));
      if (start) start_time_.insert(id);
    } else {
      id = w_.add_runtime_symbol(key);
      if (!d.is_symbol()) early_.insert(key);
    }
    symbols_[key] = id;
    return id;
  }

  artifact::Dim dim_of(const Dim& d) {
    if (d.is_const()) return artifact::Dim(d.value());
    return artifact::Dim::sym(symbol_of(d));
  }

  std::vector<artifact::Dim> dims_of(const Value* v) {
    std::vector<artifact::Dim> out;
    for (const Dim& d : v->shape().dims()) out.push_back(dim_of(d));
    return out;
  }

  // ---- values

  void check_tensor(const Value* v, const char* what) {
    if (!v->type().is_tensor())
      fail(what, " '", v->name(), "' is a ", v->type().str(),
           "; the compiled backend handles tensors only so far");
    if (!v->shape().has_rank())
      fail(what, " '", v->name(), "' has an unknown rank; compile with --input-shape");
    if (to_eave_dtype(v->dtype()) == EAVE_DTYPE_UNDEFINED)
      fail(what, " '", v->name(), "' has element type ", dtype_name(v->dtype()),
           ", which the compiled backend does not support yet");
  }

  bool is_alias_output(const Value* v, const std::vector<Dispatch>& ds) {
    for (const Dispatch& d : ds)
      if (d.kind == DispatchKind::Alias && d.nodes[0]->output(0) == v) return true;
    return false;
  }

  ValueId value_of(const Value* v) {
    if (auto it = ids_.find(v); it != ids_.end()) return it->second;
    if (v->is_constant()) {
      const Tensor& t = *v->constant();
      check_tensor(v, "constant");
      ValueId id = p_.add_weight(v->name(), to_eave_dtype(t.dtype()), dims_of(v),
                                 {static_cast<const uint8_t*>(t.raw()), t.nbytes()});
      ids_[v] = id;
      return id;
    }
    internal_fail("value '", v->name(), "' is used before any step produces it");
  }

  ValueId weight_of(const Tensor& t, const std::string& name) {
    std::vector<artifact::Dim> dims(t.dims().begin(), t.dims().end());
    return p_.add_weight(name, to_eave_dtype(t.dtype()), dims,
                         {static_cast<const uint8_t*>(t.raw()), t.nbytes()});
  }

  // Storage for a value a step produces: its output slot, the arena when its size is known at
  // program start, the heap otherwise.
  ValueId output_of(const Value* v) {
    if (auto it = ids_.find(v); it != ids_.end()) return it->second;  // an output slot
    check_tensor(v, "value");
    std::vector<artifact::Dim> dims = dims_of(v);
    bool start = true;
    for (const Dim& d : v->shape().dims()) start &= d.is_const() || only_start_time(d);
    ValueId id = start ? p_.add_arena(v->name(), to_eave_dtype(v->dtype()), dims)
                       : p_.add_heap(v->name(), to_eave_dtype(v->dtype()), dims);
    ids_[v] = id;
    return id;
  }

  // ---- dispatches

  void emit(const Dispatch& d) {
    switch (d.kind) {
      case DispatchKind::Alias: return emit_alias(d);
      case DispatchKind::Kernel:
        if (gen_) return emit_kernel(d);
        return emit_builtins(d);
      case DispatchKind::Builtin: return emit_builtins(d);
      case DispatchKind::If:
      case DispatchKind::Loop:
        fail(d.anchor()->describe(), ": control flow is not supported by the compiled backend yet");
    }
  }

  void emit_alias(const Dispatch& d) {
    const Node* n = d.anchor();
    const Value* out = n->output(0);
    ValueId base = value_of(n->input(0));
    check_tensor(out, "value");
    ids_[out] = p_.add_alias(out->name(), to_eave_dtype(out->dtype()), dims_of(out), base, 0);
  }

  void emit_kernel(const Dispatch& d) {
    KernelPlan plan = gen_->add(d, [this](const Dim& dim) { return int(symbol_of(dim)); });
    std::vector<ValueId> ins, outs;
    for (size_t k = 0; k < plan.operands.size(); ++k) {
      const KernelOperand& op = plan.operands[k];
      if (const Tensor* t = std::get_if<Tensor>(&op)) {
        ins.push_back(weight_of(*t, d.name + "_packed" + std::to_string(k)));
        continue;
      }
      Value* v = std::get<Value*>(op);
      bool produced = std::find(d.outputs.begin(), d.outputs.end(), v) != d.outputs.end();
      if (produced) outs.push_back(output_of(v));
      else ins.push_back(value_of(v));
    }
    p_.add_kernel(d.name, plan.index, dim_of(plan.tiles), ins, outs);
  }

  // Every node of the dispatch as its own builtin step.
  void emit_builtins(const Dispatch& d) {
    for (const Node* n : d.nodes) {
      auto b = builtin_for(n->kind());
      if (!b) fail(n->describe(), ": op is not supported by the compiled backend yet");
      std::vector<ValueId> ins, outs;
      for (const Value* v : n->inputs()) ins.push_back(v ? value_of(v) : ProgramBuilder::kAbsent);
      for (const Value* v : n->outputs()) outs.push_back(v ? output_of(v) : ProgramBuilder::kAbsent);
      std::vector<uint8_t> params = encode_builtin_attrs(*n);
      p_.add_builtin(n->name().empty() ? n->op_type() : n->name(), *b, ins, outs, params);
    }
  }

  ArtifactWriter& w_;
  ProgramBuilder& p_;
  KernelGenerator* gen_;
  const EmitOptions& opts_;
  std::unordered_map<const Value*, ValueId> ids_;
  std::unordered_map<std::string, SymbolId> symbols_;
  std::unordered_set<SymbolId> start_time_;
  std::unordered_set<std::string> early_;  // expressions given a RUNTIME symbol (symbol_of)
  std::vector<std::pair<const Value*, ValueId>> copies_;
};

}  // namespace

void emit_program(const Graph& g, const std::vector<Dispatch>& dispatches, KernelGenerator* gen,
                  const EmitOptions& opts, ArtifactWriter& w) {
  Emitter(w, gen, opts).run(g, dispatches);
}

}  // namespace eave
