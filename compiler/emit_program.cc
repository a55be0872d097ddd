#include "compiler/emit_program.h"

#include <unordered_map>
#include <unordered_set>

#include "codegen/builtin_attrs.h"
#include "compiler/op_flops.h"
#include "compiler/emit_control_flow.h"
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
    case DType::String: return EAVE_DTYPE_STRING;
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

std::optional<eave_value_kind> value_kind(const Type& t) {
  auto elem_is_tensor = [&] { return t.elem && t.elem->is_tensor(); };
  switch (t.kind) {
    case TypeKind::Tensor: return EAVE_VALUE_TENSOR;
    case TypeKind::Sequence:
      if (elem_is_tensor()) return EAVE_VALUE_SEQUENCE;
      break;
    case TypeKind::Optional:
      if (elem_is_tensor()) return EAVE_VALUE_OPTIONAL_TENSOR;
      if (t.elem && t.elem->kind == TypeKind::Sequence && t.elem->elem && t.elem->elem->is_tensor())
        return EAVE_VALUE_OPTIONAL_SEQUENCE;
      break;
    case TypeKind::Unknown: break;
  }
  return std::nullopt;
}

namespace {

// The element dtype of a tensor, sequence or optional type.
DType element_dtype(const Type& t) {
  const Type* e = &t;
  while (!e->is_tensor() && e->elem) e = e->elem.get();
  return e->is_tensor() ? e->dtype : DType::Undefined;
}

// The ops whose builtins take string tensors: those that only move, select or count elements,
// and the ones that read text (Cast, CastLike, Equal, Unique, StringNormalizer, TfIdfVectorizer).
bool takes_strings(OpKind k) {
  switch (k) {
    case OpKind::Identity: case OpKind::Reshape: case OpKind::Flatten: case OpKind::Squeeze:
    case OpKind::Unsqueeze: case OpKind::Transpose: case OpKind::Concat: case OpKind::Split:
    case OpKind::Slice: case OpKind::Expand: case OpKind::Tile: case OpKind::Gather:
    case OpKind::GatherElements: case OpKind::GatherND: case OpKind::Scatter:
    case OpKind::ScatterElements: case OpKind::ScatterND: case OpKind::Compress:
    case OpKind::DepthToSpace: case OpKind::SpaceToDepth: case OpKind::ReverseSequence:
    case OpKind::Shape: case OpKind::Size: case OpKind::Where: case OpKind::NonZero:
    case OpKind::Cast: case OpKind::CastLike: case OpKind::Equal: case OpKind::Unique:
    case OpKind::StringNormalizer: case OpKind::TfIdfVectorizer: case OpKind::SequenceConstruct:
    case OpKind::SequenceAt: case OpKind::SequenceEmpty: case OpKind::SequenceErase:
    case OpKind::SequenceInsert: case OpKind::SequenceLength: case OpKind::ConcatFromSequence:
    case OpKind::SplitToSequence:
    case OpKind::Optional: case OpKind::OptionalGetElement: case OpKind::OptionalHasElement:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool has_string_operand(const Node& n) {
  for (const auto* list : {&n.inputs(), &n.outputs()})
    for (const Value* v : *list)
      if (v && element_dtype(v->type()) == DType::String) return true;
  return false;
}

namespace {

// Refuses, naming the node, a node of an op whose builtin handles only some of its forms.
// Runs before any value is checked, so that an op given strings is reported as the node's.
void check_builtin_forms(const Graph& g) {
  for (const auto& n : g.nodes()) {
    if (n->subgraphs().empty() && !takes_strings(n->kind()) && has_string_operand(*n))
      fail(n->describe(), ": string tensors are not supported by the compiled backend for this "
           "op");
    for (const Graph* sub : n->subgraphs()) check_builtin_forms(*sub);
  }
}

// Emits one graph into one program: the main graph into program 0, or a subgraph into a
// nested program, whose `parent` emits the enclosing one.
class Emitter : public ProgramEmitter {
 public:
  Emitter(ArtifactWriter& w, ProgramBuilder& p, KernelGenerator* gen, const EmitOptions& opts,
          Emitter* parent = nullptr)
      : w_(w), p_(p), gen_(gen), opts_(opts), parent_(parent),
        weights_(parent ? parent->weights_ : &own_weights_) {}

  void run(const Graph& g, const std::vector<Dispatch>& dispatches) {
    check_builtin_forms(g);
    for (const Value* v : g.inputs()) define_input_symbols(v);
    for (const Value* v : g.inputs()) {
      check_tensor(v, "input");
      ids_[v] = p_.add_input(v->name(), eave_dtype_of(v), dims_of(v), kind_of(v));
    }
    emit_graph(g, dispatches);
  }

  // ---- ProgramEmitter

  ProgramBuilder& program() override { return p_; }

  std::unique_ptr<ProgramEmitter> nested(const std::string& name) override {
    return std::make_unique<Emitter>(w_, w_.add_program(name), gen_, opts_, this);
  }

  ValueId add_input(const Value* v) override {
    check_tensor(v, "subgraph input");
    // Every symbolic dim of a nested input is this program's own, defined each time it starts
    // (a loop-carried value may change shape between iterations).
    if (v->type().is_tensor())
      for (const Dim& d : v->shape().dims()) {
        if (d.is_const() || symbols_.count(d.str())) continue;
        DimBounds b;
        if (auto it = opts_.bounds.find(d.str()); it != opts_.bounds.end()) b = it->second;
        SymbolId id = w_.add_dim_symbol(d.str(), {b.min, b.max}, b.nominal);
        symbols_[d.str()] = id;
        start_time_.insert(id);
      }
    ValueId id = p_.add_input(v->name(), eave_dtype_of(v), dims_of(v), kind_of(v));
    ids_[v] = id;
    return id;
  }

  void emit_body(Graph& g) override {
    KernelSupport none;
    none.generates = [](const Node&) { return false; };
    none.is_elementwise = [](const Node&) { return false; };
    emit_graph(g, partition_graph(g, gen_ ? gen_->support() : none));
  }

  const std::vector<ValueId>& captured() const override { return captured_; }

 private:
  // Output slots, in order, then the dispatches. A value produced by a step of this graph is
  // written into its slot in place; one that is an input, a constant, a view, a value of an
  // enclosing graph or a second slot of the same value gets a copy.
  void emit_graph(const Graph& g, const std::vector<Dispatch>& dispatches) {
    std::unordered_set<const Value*> claimed;
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      const Value* v = g.outputs()[i];
      check_tensor(v, "output");
      // Passes may have replaced a model output value (a folded constant, a recognized
      // pattern): the slot keeps the model's own name.
      const std::string& name =
          !parent_ && i < opts_.output_names.size() ? opts_.output_names[i] : v->name();
      ValueId slot = p_.add_output(name, eave_dtype_of(v), dims_of(v), kind_of(v));
      bool in_place = v->producer() && v->owner() == &g && !is_alias_output(v, dispatches) &&
                      claimed.insert(v).second;
      if (in_place) ids_[v] = slot;
      else copies_.push_back({v, slot});
    }
    for (size_t i = 0; i < dispatches.size(); ++i) {
      emit(dispatches[i]);
      if (opts_.on_dispatch) opts_.on_dispatch(i + 1);
    }
    for (const auto& [v, slot] : copies_)
      annotate(p_.add_builtin("copy " + v->name(), artifact::Builtin::COPY, {value_of(v)}, {slot}),
               {});
    if (opts_.expose_dispatch_outputs) expose_dispatch_outputs(g, dispatches);
  }

 private:
  // ---- for tools

  // Records which nodes a step runs and how many operations that is (eave profile).
  void annotate(artifact::StepId step, const std::vector<const Node*>& nodes) {
    if (!opts_.step_info) return;
    std::vector<ArtifactWriter::StepNode> names;
    std::optional<Dim> flops = Dim(0);
    for (const Node* n : nodes) {
      names.push_back({n->name(), n->op_type()});
      std::optional<Dim> f = node_flops(*n);
      flops = flops && f ? std::optional<Dim>(*flops + *f) : std::nullopt;
    }
    std::optional<Expr> code = flops ? expr_of(*flops) : std::nullopt;
    w_.set_step_info(p_.id(), step, std::move(names), std::move(code));
  }

  // The values dispatches compute (not views), after the model's outputs, for `eave compare`.
  void expose_dispatch_outputs(const Graph& g, const std::vector<Dispatch>& dispatches) {
    std::unordered_set<const Value*> listed(g.outputs().begin(), g.outputs().end());
    for (const Dispatch& d : dispatches) {
      if (d.kind == DispatchKind::Alias) continue;
      for (const Value* v : d.outputs)
        if (v && ids_.count(v) && listed.insert(v).second) p_.add_output_value(ids_.at(v));
    }
  }

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

  // The symbol named `key` in this program or an enclosing one, if any.
  std::optional<SymbolId> find_symbol(const std::string& key) const {
    if (auto it = symbols_.find(key); it != symbols_.end()) return it->second;
    return parent_ ? parent_->find_symbol(key) : std::nullopt;
  }

  bool is_start_time(SymbolId s) const {
    return start_time_.count(s) || (parent_ && parent_->is_start_time(s));
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
          std::optional<SymbolId> sym = find_symbol(a.name);
          if (!sym) return std::nullopt;
          f = Expr::sym(*sym);
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
      std::optional<SymbolId> sym = find_symbol(s);
      if (!sym || !is_start_time(*sym)) return false;
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
    } else if (std::optional<SymbolId> outer = parent_ ? parent_->find_symbol(key) : std::nullopt) {
      return *outer;
    }
    SymbolId id;
    if (auto e = expr_of(d)) {
      bool start = only_start_time(d);
      id = w_.add_expr_symbol(key, *e, {}, p_.id(), start ? -1 : int32_t(p_.step_count()));
      if (start) start_time_.insert(id);
    } else {
      id = w_.add_runtime_symbol(key, {}, p_.id());
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
    if (!v->type().is_tensor()) return out;  // sequences and optionals have no dims
    for (const Dim& d : v->shape().dims()) out.push_back(dim_of(d));
    return out;
  }

  static eave_value_kind kind_of(const Value* v) { return *value_kind(v->type()); }
  static eave_dtype eave_dtype_of(const Value* v) { return to_eave_dtype(element_dtype(v->type())); }

  // ---- values

  // A tensor of known rank, or a sequence or optional of tensors, of a supported dtype.
  void check_tensor(const Value* v, const char* what) {
    if (!value_kind(v->type()))
      fail(what, " '", v->name(), "' is a ", v->type().str(),
           "; the compiled backend handles tensors and sequences or optionals of tensors");
    if (v->type().is_tensor() && !v->shape().has_rank())
      fail(what, " '", v->name(), "' has an unknown rank; compile with --input-shape");
    if (eave_dtype_of(v) == EAVE_DTYPE_UNDEFINED)
      fail(what, " '", v->name(), "' has element type ", dtype_name(element_dtype(v->type())),
           ", which the compiled backend does not support yet");
  }

  bool is_alias_output(const Value* v, const std::vector<Dispatch>& ds) {
    for (const Dispatch& d : ds)
      if (d.kind == DispatchKind::Alias && d.nodes[0]->output(0) == v) return true;
    return false;
  }

  ValueId value_of(const Value* v) override {
    if (auto it = ids_.find(v); it != ids_.end()) return it->second;
    if (v->is_constant()) {
      const Tensor& t = *v->constant();
      check_tensor(v, "constant");
      // A constant read by several programs is stored once.
      auto [it, fresh] = weights_->emplace(&t, 0);
      ValueId id;
      if (!fresh) id = p_.add_shared_weight(v->name(), it->second);
      else if (t.dtype() == DType::String) id = string_text(v, t);
      else id = p_.add_weight(v->name(), to_eave_dtype(t.dtype()), dims_of(v),
                              {static_cast<const uint8_t*>(t.raw()), t.nbytes()});
      if (fresh) it->second = id;
      if (t.dtype() == DType::String) {  // the weight is its text: a step makes the elements
        ValueId text = id;
        id = p_.add_arena(v->name(), EAVE_DTYPE_STRING, dims_of(v));
        p_.add_builtin("strings " + v->name(), artifact::Builtin::STRINGS, {text}, {id});
      }
      ids_[v] = id;
      return id;
    }
    if (parent_) {  // a value of an enclosing graph: captured through the next input slot
      ValueId outer = parent_->value_of(v);
      check_tensor(v, "captured value");
      if (v->type().is_tensor())
        for (const Dim& d : v->shape().dims())
          if (!d.is_const() && !symbols_.count(d.str())) {
            SymbolId id = w_.add_dim_symbol(d.str(), {}, 1);
            symbols_[d.str()] = id;
            start_time_.insert(id);
          }
      ValueId in = p_.add_input(v->name(), eave_dtype_of(v), dims_of(v), kind_of(v));
      captured_.push_back(outer);
      ids_[v] = in;
      return in;
    }
    internal_fail("value '", v->name(), "' is used before any step produces it");
  }

  // A u8 weight holding a string constant's elements, each ended by a NUL.
  ValueId string_text(const Value* v, const Tensor& t) {
    std::string text;
    for (const std::string& s : t.strings()) {
      if (s.find('\0') != std::string::npos)
        fail("constant '", v->name(), "' holds a string with a NUL byte, which the compiled "
             "backend does not support");
      text += s;
      text += '\0';
    }
    return p_.add_weight(v->name() + "_text", EAVE_DTYPE_U8, {artifact::Dim(int64_t(text.size()))},
                         {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }

  ValueId weight_of(const Tensor& t, const std::string& name) {
    std::vector<artifact::Dim> dims(t.dims().begin(), t.dims().end());
    return p_.add_weight(name, to_eave_dtype(t.dtype()), dims,
                         {static_cast<const uint8_t*>(t.raw()), t.nbytes()});
  }

  // Storage for a value a step produces: its output slot, the arena when its size is known at
  // program start, the heap otherwise.
  ValueId output_of(const Value* v) override {
    if (auto it = ids_.find(v); it != ids_.end()) return it->second;  // an output slot
    check_tensor(v, "value");
    if (!v->type().is_tensor()) {  // a list the session holds
      ValueId id = p_.add_heap(v->name(), eave_dtype_of(v), {}, kind_of(v));
      ids_[v] = id;
      return id;
    }
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
      case DispatchKind::Scan:
      case DispatchKind::SequenceMap: return emit_control_flow(*this, d);
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
    annotate(p_.add_kernel(d.name, plan.index, dim_of(plan.tiles), ins, outs),
             {d.nodes.begin(), d.nodes.end()});
  }

  // Every node of the dispatch as its own builtin step.
  void emit_builtins(const Dispatch& d) {
    for (const Node* n : d.nodes) {
      auto b = builtin_for(n->kind());
      // Identity of a sequence or optional: COPY takes lists whole.
      if (n->kind() == OpKind::Identity && n->input(0) && !n->input(0)->type().is_tensor())
        b = artifact::Builtin::COPY;
      if (!b) fail(n->describe(), ": op is not supported by the compiled backend yet");
      std::vector<ValueId> ins, outs;
      for (const Value* v : n->inputs()) ins.push_back(v ? value_of(v) : ProgramBuilder::kAbsent);
      for (const Value* v : n->outputs()) outs.push_back(v ? output_of(v) : ProgramBuilder::kAbsent);
      std::vector<uint8_t> params = encode_builtin_attrs(*n);
      annotate(p_.add_builtin(n->name().empty() ? n->op_type() : n->name(), *b, ins, outs, params),
               {n});
    }
  }

  ArtifactWriter& w_;
  ProgramBuilder& p_;
  KernelGenerator* gen_;
  const EmitOptions& opts_;
  Emitter* parent_;
  std::unordered_map<const Tensor*, ValueId> own_weights_;
  std::unordered_map<const Tensor*, ValueId>* weights_;  // the main emitter's, shared
  std::vector<ValueId> captured_;
  std::unordered_map<const Value*, ValueId> ids_;
  std::unordered_map<std::string, SymbolId> symbols_;
  std::unordered_set<SymbolId> start_time_;
  std::unordered_set<std::string> early_;  // expressions given a RUNTIME symbol (symbol_of)
  std::vector<std::pair<const Value*, ValueId>> copies_;
};

}  // namespace

void emit_program(const Graph& g, const std::vector<Dispatch>& dispatches, KernelGenerator* gen,
                  const EmitOptions& opts, ArtifactWriter& w) {
  Emitter(w, w.main(), gen, opts).run(g, dispatches);
}

}  // namespace eave
