#include "codegen/artifact_writer.h"

#include <cstring>
#include <fstream>
#include <map>

#include "runtime/src/artifact_format.h"
#include "runtime/src/expr.h"
#include "runtime/src/planner.h"
#include "support/error.h"

namespace eave::artifact {

// ---- Expr -------------------------------------------------------------------------------

namespace {

void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

}  // namespace

Expr::Expr(int64_t constant) {
  code_.push_back(EAVE_EXPR_CONST);
  put_le(code_, uint64_t(constant), 8);
}

Expr Expr::sym(SymbolId s) {
  Expr e;
  e.code_.push_back(EAVE_EXPR_SYM);
  put_le(e.code_, s, 4);
  return e;
}

Expr Expr::load(ValueId v, const Expr& index) {
  Expr e = index;
  e.code_.push_back(EAVE_EXPR_LOAD);
  put_le(e.code_, v, 4);
  return e;
}

// Operands in order (postfix), then the opcode.
Expr Expr::op(uint8_t opcode, std::initializer_list<const Expr*> args) {
  Expr e;
  for (const Expr* a : args) e.code_.insert(e.code_.end(), a->code_.begin(), a->code_.end());
  e.code_.push_back(opcode);
  return e;
}

Expr operator+(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_ADD, {&a, &b}); }
Expr operator-(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_SUB, {&a, &b}); }
Expr operator*(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_MUL, {&a, &b}); }
Expr operator-(const Expr& a) { return Expr::op(EAVE_EXPR_NEG, {&a}); }
Expr floor_div(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_FLOORDIV, {&a, &b}); }
Expr ceil_div(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_CEILDIV, {&a, &b}); }
Expr mod(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_MOD, {&a, &b}); }
Expr min(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_MIN, {&a, &b}); }
Expr max(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_MAX, {&a, &b}); }
Expr abs(const Expr& a) { return Expr::op(EAVE_EXPR_ABS, {&a}); }
Expr eq(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_EQ, {&a, &b}); }
Expr lt(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_LT, {&a, &b}); }
Expr le(const Expr& a, const Expr& b) { return Expr::op(EAVE_EXPR_LE, {&a, &b}); }
Expr select(const Expr& c, const Expr& a, const Expr& b) {
  return Expr::op(EAVE_EXPR_SELECT, {&c, &a, &b});
}

// ---- ProgramBuilder ------------------------------------------------------------------------

ValueId ProgramBuilder::add_value(const std::string& name, eave_dtype dtype,
                                  const std::vector<Dim>& dims, uint8_t storage,
                                  eave_value_kind kind) {
  EAVE_CHECK(eave_dtype_size(dtype) != 0, "value '", name, "': unsupported dtype ", int(dtype));
  writer_->check_dims(str_cat("value '", name, "'"), dims);
  if (kind != EAVE_VALUE_TENSOR)
    EAVE_CHECK(dims.empty() && (storage == EAVE_STORAGE_INPUT || storage == EAVE_STORAGE_OUTPUT ||
                                storage == EAVE_STORAGE_HEAP),
               "value '", name, "': a sequence or optional has no dims and is an input, an "
               "output or a heap value");
  ArtifactWriter::Value v;
  v.name = name;
  v.dtype = dtype;
  v.storage = storage;
  v.kind = kind;
  v.program = id_;
  v.dims = dims;
  writer_->values_.push_back(std::move(v));
  return ValueId(writer_->values_.size() - 1);
}

ValueId ProgramBuilder::add_slot(const std::string& name, eave_dtype dtype,
                                 const std::vector<Dim>& dims, uint8_t storage,
                                 std::vector<ValueId>& slots, eave_value_kind kind) {
  ValueId v = add_value(name, dtype, dims, storage, kind);
  writer_->values_[v].index = uint32_t(slots.size());
  slots.push_back(v);
  return v;
}

ValueId ProgramBuilder::add_input(const std::string& name, eave_dtype dtype,
                                  const std::vector<Dim>& dims, eave_value_kind kind) {
  return add_slot(name, dtype, dims, EAVE_STORAGE_INPUT, inputs_, kind);
}

ValueId ProgramBuilder::add_output(const std::string& name, eave_dtype dtype,
                                   const std::vector<Dim>& dims, eave_value_kind kind) {
  return add_slot(name, dtype, dims, EAVE_STORAGE_OUTPUT, outputs_, kind);
}

void ProgramBuilder::add_output_value(ValueId v) {
  operand(v, false);
  outputs_.push_back(v);
}

ValueId ProgramBuilder::add_arena(const std::string& name, eave_dtype dtype,
                                  const std::vector<Dim>& dims) {
  return add_value(name, dtype, dims, EAVE_STORAGE_ARENA);
}

ValueId ProgramBuilder::add_heap(const std::string& name, eave_dtype dtype,
                                 const std::vector<Dim>& dims, eave_value_kind kind) {
  return add_value(name, dtype, dims, EAVE_STORAGE_HEAP, kind);
}

ValueId ProgramBuilder::add_alias(const std::string& name, eave_dtype dtype,
                                  const std::vector<Dim>& dims, ValueId base,
                                  uint64_t byte_offset) {
  operand(base, false);
  ValueId v = add_value(name, dtype, dims, EAVE_STORAGE_ALIAS);
  writer_->values_[v].index = base;
  writer_->values_[v].offset = byte_offset;
  return v;
}

ValueId ProgramBuilder::add_weight(const std::string& name, eave_dtype dtype,
                                   const std::vector<Dim>& dims, std::span<const uint8_t> bytes) {
  uint64_t expected = eave_dtype_size(dtype);
  for (const Dim& d : dims) {
    EAVE_CHECK(!d.is_symbol(), "weight '", name, "': dims must be constant");
    expected *= uint64_t(d.encoded);
  }
  EAVE_CHECK(expected == bytes.size(), "weight '", name, "': ", bytes.size(),
             " bytes given, its dtype and dims need ", expected);
  ValueId v = add_value(name, dtype, dims, EAVE_STORAGE_WEIGHT);
  std::vector<uint8_t>& w = writer_->weights_;
  w.resize((w.size() + EAVE_WEIGHT_ALIGNMENT - 1) / EAVE_WEIGHT_ALIGNMENT * EAVE_WEIGHT_ALIGNMENT);
  writer_->values_[v].offset = w.size();
  writer_->values_[v].size = bytes.size();
  w.insert(w.end(), bytes.begin(), bytes.end());
  return v;
}

ValueId ProgramBuilder::add_shared_weight(const std::string& name, ValueId w) {
  EAVE_CHECK(w < writer_->values_.size() && writer_->values_[w].storage == EAVE_STORAGE_WEIGHT,
             "shared weight '", name, "': value ", w, " is not a weight");
  ArtifactWriter::Value base = writer_->values_[w];
  ValueId v = add_value(name, base.dtype, base.dims, EAVE_STORAGE_WEIGHT);
  writer_->values_[v].offset = base.offset;
  writer_->values_[v].size = base.size;
  return v;
}

// An operand index for the artifact, checking it is a value of this program.
int32_t ProgramBuilder::operand(ValueId v, bool optional) const {
  if (v == kAbsent && optional) return -1;
  EAVE_CHECK(v < writer_->values_.size(), "program '", name_, "': value ", v, " does not exist");
  EAVE_CHECK(writer_->values_[v].program == id_, "program '", name_, "': value '",
             writer_->values_[v].name, "' belongs to another program (pass it as an input)");
  return int32_t(v);
}

StepId ProgramBuilder::add_step(Step step) {
  steps_.push_back(std::move(step));
  return StepId(steps_.size() - 1);
}

namespace {

template <class F>
std::vector<int32_t> map_ids(const std::vector<ValueId>& ids, F f) {
  std::vector<int32_t> out;
  for (ValueId v : ids) out.push_back(f(v));
  return out;
}

}  // namespace

StepId ProgramBuilder::add_kernel(const std::string& name, uint32_t kernel, Dim tiles,
                                  const std::vector<ValueId>& inputs,
                                  const std::vector<ValueId>& outputs) {
  Step s;
  s.kind = EAVE_STEP_KERNEL;
  s.id = kernel;
  s.name = name;
  s.inputs = map_ids(inputs, [&](ValueId v) { return operand(v, true); });
  s.outputs = map_ids(outputs, [&](ValueId v) { return operand(v, false); });
  s.tiles = tiles.encoded;
  if (tiles.is_symbol())
    EAVE_CHECK(tiles.symbol() < writer_->symbols_.size(), "step '", name, "': bad tile symbol");
  return add_step(std::move(s));
}

StepId ProgramBuilder::add_builtin(const std::string& name, Builtin builtin,
                                   const std::vector<ValueId>& inputs,
                                   const std::vector<ValueId>& outputs,
                                   std::span<const uint8_t> params) {
  Step s;
  s.kind = EAVE_STEP_BUILTIN;
  s.id = uint32_t(builtin);
  s.name = name;
  s.inputs = map_ids(inputs, [&](ValueId v) { return operand(v, true); });
  s.outputs = map_ids(outputs, [&](ValueId v) { return operand(v, true); });
  s.params.assign(params.begin(), params.end());
  return add_step(std::move(s));
}

void ProgramBuilder::check_nested(const std::string& step, ProgramId p) const {
  EAVE_CHECK(p > id_ && p < writer_->programs_.size(), "step '", step,
             "': a nested program must be added after the program of its step");
}

namespace {

template <class T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

}  // namespace

ProgramBuilder::Step ProgramBuilder::control_step(
    uint32_t kind, const std::string& name, uint32_t id, ProgramId body,
    std::initializer_list<std::optional<ValueId>> optional,
    std::initializer_list<const std::vector<ValueId>*> groups,
    const std::vector<ValueId>& outputs) const {
  check_nested(name, body);
  Step s;
  s.kind = kind;
  s.id = id;
  s.name = name;
  for (const std::optional<ValueId>& v : optional) s.inputs.push_back(v ? operand(*v, false) : -1);
  for (const std::vector<ValueId>* g : groups)
    append(s.inputs, map_ids(*g, [&](ValueId v) { return operand(v, false); }));
  s.outputs = map_ids(outputs, [&](ValueId v) { return operand(v, true); });
  s.programs[0] = body;
  return s;
}

StepId ProgramBuilder::add_if(const std::string& name, ValueId cond,
                              const std::vector<ValueId>& then_inputs,
                              const std::vector<ValueId>& else_inputs,
                              const std::vector<ValueId>& outputs, ProgramId then_program,
                              ProgramId else_program) {
  check_nested(name, else_program);
  Step s = control_step(EAVE_STEP_IF, name, 0, then_program, {cond}, {&then_inputs, &else_inputs},
                        outputs);
  s.programs[1] = else_program;
  return add_step(std::move(s));
}

StepId ProgramBuilder::add_loop(const std::string& name, std::optional<ValueId> max_trip,
                                std::optional<ValueId> cond, const std::vector<ValueId>& state_in,
                                const std::vector<ValueId>& outputs, ProgramId body,
                                const std::vector<ValueId>& captures) {
  EAVE_CHECK(outputs.size() >= state_in.size(), "LOOP '", name, "': ", state_in.size(),
             " loop-carried values but only ", outputs.size(), " outputs");
  return add_step(control_step(EAVE_STEP_LOOP, name, uint32_t(state_in.size()), body,
                               {max_trip, cond}, {&state_in, &captures}, outputs));
}

StepId ProgramBuilder::add_scan(const std::string& name, std::optional<ValueId> sequence_lens,
                                const std::vector<ValueId>& state_in,
                                const std::vector<ValueId>& scan_in,
                                const std::vector<ValueId>& outputs, ProgramId body,
                                std::span<const uint8_t> params,
                                const std::vector<ValueId>& captures) {
  EAVE_CHECK(outputs.size() >= state_in.size(), "SCAN '", name, "': ", state_in.size(),
             " state values but only ", outputs.size(), " outputs");
  Step s = control_step(EAVE_STEP_SCAN, name, uint32_t(state_in.size()), body, {sequence_lens},
                        {&state_in, &scan_in, &captures}, outputs);
  s.params.assign(params.begin(), params.end());
  return add_step(std::move(s));
}

StepId ProgramBuilder::add_sequence_map(const std::string& name,
                                        const std::vector<ValueId>& inputs,
                                        const std::vector<ValueId>& outputs, ProgramId body,
                                        const std::vector<ValueId>& captures) {
  EAVE_CHECK(!inputs.empty(), "SEQUENCE_MAP '", name, "': needs the input sequence");
  return add_step(control_step(EAVE_STEP_SEQUENCE_MAP, name, uint32_t(inputs.size()), body, {},
                               {&inputs, &captures}, outputs));
}

// ---- ArtifactWriter: building ----------------------------------------------------------------

ArtifactWriter::ArtifactWriter() { programs_.push_back(ProgramBuilder(this, 0, "main")); }

ProgramBuilder& ArtifactWriter::add_program(const std::string& name) {
  programs_.push_back(ProgramBuilder(this, ProgramId(programs_.size()), name));
  return programs_.back();
}

ProgramBuilder& ArtifactWriter::program(ProgramId id) {
  EAVE_CHECK(id < programs_.size(), "program ", id, " does not exist");
  return programs_[id];
}

void ArtifactWriter::check_dims(const std::string& what, const std::vector<Dim>& dims) const {
  EAVE_CHECK(dims.size() <= EAVE_MAX_RANK, what, ": rank ", dims.size(), " is over ",
             EAVE_MAX_RANK);
  for (const Dim& d : dims)
    EAVE_CHECK(!d.is_symbol() || d.symbol() < symbols_.size(), what, ": dim names symbol ",
               d.symbol(), ", which does not exist");
}

SymbolId ArtifactWriter::add_dim_symbol(const std::string& name, Bounds bounds, int64_t nominal) {
  EAVE_CHECK(bounds.max == -1 || bounds.min <= bounds.max, "symbol '", name, "': empty bounds");
  Symbol s;
  s.name = name;
  s.bounds = bounds;
  s.nominal = nominal;
  symbols_.push_back(std::move(s));
  return SymbolId(symbols_.size() - 1);
}

SymbolId ArtifactWriter::add_expr_symbol(const std::string& name, const Expr& expr, Bounds bounds,
                                         ProgramId program, int32_t ready_step) {
  EAVE_CHECK(program < programs_.size(), "symbol '", name, "': program ", program,
             " does not exist");
  SymbolId id = add_dim_symbol(name, bounds, 0);
  // SYM may name this symbol or later ones only if they are defined first; the runtime
  // reports that at run time. Index ranges are checked here.
  const char* err = eave_expr_check(expr.code().data(), expr.code().size(),
                                    uint32_t(symbols_.size()), uint32_t(values_.size()), nullptr);
  EAVE_CHECK(!err, "symbol '", name, "': bad expression: ", err);
  symbols_[id].kind = EAVE_SYMBOL_EXPR;
  symbols_[id].program = program;
  symbols_[id].ready_step = ready_step;
  symbols_[id].code = expr.code();
  return id;
}

SymbolId ArtifactWriter::add_runtime_symbol(const std::string& name, Bounds bounds,
                                            ProgramId program) {
  EAVE_CHECK(program < programs_.size(), "symbol '", name, "': program ", program,
             " does not exist");
  SymbolId id = add_dim_symbol(name, bounds, 0);
  symbols_[id].kind = EAVE_SYMBOL_RUNTIME;
  symbols_[id].program = program;
  return id;
}

// ---- ArtifactWriter: finishing -------------------------------------------------------------

namespace {

// Strings deduplicated into one blob that starts with NUL (offset 0 is "").
class StringTable {
 public:
  StringTable() : blob_(1, '\0') {}
  uint32_t add(const std::string& s) {
    if (s.empty()) return 0;
    auto [it, inserted] = offsets_.emplace(s, uint32_t(blob_.size()));
    if (inserted) blob_.insert(blob_.end(), s.c_str(), s.c_str() + s.size() + 1);
    return it->second;
  }
  const std::vector<char>& blob() const { return blob_; }

 private:
  std::vector<char> blob_;
  std::map<std::string, uint32_t> offsets_;
};

// A growing byte buffer with alignment.
class Bytes {
 public:
  size_t size() const { return b_.size(); }
  void align(size_t a) { b_.resize((b_.size() + a - 1) / a * a); }
  size_t append(const void* p, size_t n) {
    size_t at = b_.size();
    b_.insert(b_.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return at;
  }
  template <class T>
  size_t append_all(const std::vector<T>& v) {
    return append(v.data(), v.size() * sizeof(T));
  }
  std::vector<uint8_t>& data() { return b_; }

 private:
  std::vector<uint8_t> b_;
};

}  // namespace

// Symbol values for planning: dim symbols take their nominal size, start-time expressions
// are evaluated (in index order) with the runtime's evaluator; the rest stay unknown.
std::vector<int64_t> ArtifactWriter::nominal_symbols(std::vector<Symbol>& symbols) const {
  std::vector<int64_t> vals(symbols.size(), 0);
  std::vector<uint8_t> known(symbols.size(), 0);
  for (size_t s = 0; s < symbols.size(); ++s)
    if (symbols[s].kind == EAVE_SYMBOL_INPUT) vals[s] = symbols[s].nominal, known[s] = 1;
  for (size_t s = 0; s < symbols.size(); ++s) {
    const Symbol& sym = symbols[s];
    if (sym.kind == EAVE_SYMBOL_EXPR && sym.ready_step == -1) {
      eave_expr_env env{vals.data(), known.data(), nullptr, nullptr, nullptr};
      char err[256];
      known[s] =
          eave_expr_eval(sym.code.data(), sym.code.size(), &env, &vals[s], err, sizeof err) == 0;
    }
  }
  for (size_t s = 0; s < symbols.size(); ++s)
    if (!known[s]) vals[s] = -1;
  return vals;
}

void ArtifactWriter::plan(std::vector<Symbol>& symbols, std::vector<Value>& values,
                          std::vector<uint64_t>& arena_sizes) const {
  // Input symbols: the first program input that uses a dim symbol defines it.
  for (const ProgramBuilder& p : programs_)
    for (uint32_t i = 0; i < p.inputs_.size(); ++i) {
      const Value& v = values[p.inputs_[i]];
      for (uint32_t a = 0; a < v.dims.size(); ++a) {
        if (!v.dims[a].is_symbol()) continue;
        Symbol& s = symbols[v.dims[a].symbol()];
        if (s.kind != 0) continue;
        s.kind = EAVE_SYMBOL_INPUT;
        s.program = p.id_;
        s.input = i;
        s.axis = a;
      }
    }
  for (const Symbol& s : symbols)
    EAVE_CHECK(s.kind != 0, "symbol '", s.name,
               "' is not a dim of any program input, an expression or a runtime symbol");

  // Live ranges: every step that names a value (or an alias of it), every LOAD of it, and the
  // end of the program for its outputs.
  auto touch = [&](ValueId v, int32_t step) {
    for (;;) {
      Value& val = values[v];
      if (val.first_step < 0 || step < val.first_step) val.first_step = step;
      if (step > val.last_step) val.last_step = step;
      if (val.storage != EAVE_STORAGE_ALIAS) break;
      v = val.index;
    }
  };
  for (const ProgramBuilder& p : programs_) {
    for (int32_t k = 0; k < int32_t(p.steps_.size()); ++k) {
      for (int32_t v : p.steps_[k].inputs)
        if (v >= 0) touch(ValueId(v), k);
      for (int32_t v : p.steps_[k].outputs)
        if (v >= 0) touch(ValueId(v), k);
    }
    if (!p.steps_.empty())
      for (ValueId v : p.outputs_) touch(v, int32_t(p.steps_.size()) - 1);
  }
  for (const Symbol& s : symbols) {
    if (s.kind != EAVE_SYMBOL_EXPR) continue;
    for (size_t pos = 0; pos < s.code.size();) {
      eave_expr_insn in;
      eave_expr_decode(s.code.data(), s.code.size(), &pos, &in);
      if (in.op == EAVE_EXPR_LOAD) touch(ValueId(in.imm), s.ready_step < 0 ? 0 : s.ready_step);
    }
  }
  for (Value& v : values)
    if (v.storage != EAVE_STORAGE_ARENA && v.storage != EAVE_STORAGE_HEAP)
      v.first_step = v.last_step = -1;

  // The arena of each program, planned for nominal shapes with the runtime's planner.
  std::vector<int64_t> nominal = nominal_symbols(symbols);
  arena_sizes.assign(programs_.size(), 0);
  for (const ProgramBuilder& p : programs_) {
    std::vector<ValueId> ids;
    std::vector<eave_plan_item> items;
    for (ValueId id = 0; id < values.size(); ++id) {
      Value& v = values[id];
      if (v.program != p.id_ || v.storage != EAVE_STORAGE_ARENA) continue;
      uint64_t bytes = eave_dtype_size(v.dtype);
      for (const Dim& d : v.dims) {
        int64_t n = d.is_symbol() ? nominal[d.symbol()] : d.encoded;
        EAVE_CHECK(n >= 0, "arena value '", v.name, "': symbol '", symbols[d.symbol()].name,
                   "' has no size before its program starts (make the value HEAP)");
        bytes *= uint64_t(n);
      }
      ids.push_back(id);
      items.push_back({bytes, v.first_step, v.last_step, 0});
    }
    std::vector<uint32_t> scratch(2 * items.size());
    EAVE_CHECK(eave_plan_arena(items.data(), uint32_t(items.size()), EAVE_ARENA_ALIGNMENT,
                               scratch.data(), &arena_sizes[p.id_]) == 0,
               "program '", p.name_, "': the arena overflows");
    for (size_t i = 0; i < ids.size(); ++i) {
      values[ids[i]].offset = items[i].offset;
      values[ids[i]].size = items[i].size;
    }
  }
}

void ArtifactWriter::set_step_info(ProgramId program, StepId step, std::vector<StepNode> nodes,
                                   std::optional<Expr> flops) {
  EAVE_ASSERT(program < programs_.size() && step < programs_[program].steps_.size());
  step_info_.push_back({program, step, std::move(nodes), std::move(flops)});
}

// The STEP_INFO section (artifact_format.h), empty when no step has information.
std::vector<uint8_t> ArtifactWriter::step_info_section() const {
  if (step_info_.empty()) return {};
  StringTable strings;
  std::vector<eave_step_info> entries;
  std::vector<eave_step_node> nodes;
  std::vector<uint8_t> code;
  for (const StepInfo& si : step_info_) {
    eave_step_info e{};
    e.program = si.program;
    e.step = si.step;
    e.first_node = uint32_t(nodes.size());
    e.node_count = uint32_t(si.nodes.size());
    for (const StepNode& n : si.nodes)
      nodes.push_back({strings.add(n.name), strings.add(n.op_type)});
    if (si.flops) {
      const std::vector<uint8_t>& c = si.flops->code();
      EAVE_ASSERT(!eave_expr_check(c.data(), c.size(), uint32_t(symbols_.size()), 0, nullptr));
      e.flops = uint32_t(code.size());
      e.flops_size = uint32_t(c.size());
      code.insert(code.end(), c.begin(), c.end());
    }
    entries.push_back(e);
  }
  Bytes out;
  eave_step_info_section head{uint32_t(entries.size()), uint32_t(nodes.size()),
                              uint32_t(code.size()), uint32_t(strings.blob().size())};
  out.append(&head, sizeof head);
  out.append_all(entries);
  out.align(8);
  out.append_all(nodes);
  out.align(8);
  out.append_all(code);
  out.align(8);
  out.append_all(strings.blob());
  return std::move(out.data());
}

// The serialized PROGRAM tables.
struct ArtifactWriter::Layout {
  std::vector<eave_symbol> symbols;
  std::vector<eave_value> values;
  std::vector<int64_t> dims;
  std::vector<eave_step> steps;
  std::vector<int32_t> operands;
  std::vector<eave_program> programs;
  std::vector<uint32_t> lists;
  std::vector<uint8_t> code;
  std::vector<uint8_t> params;
};

std::vector<uint8_t> ArtifactWriter::bytes() const {
  std::vector<Symbol> symbols = symbols_;
  std::vector<Value> values = values_;
  std::vector<uint64_t> arena_sizes;
  plan(symbols, values, arena_sizes);

  StringTable strings;
  Layout L;
  for (const Symbol& s : symbols) {
    eave_symbol out{};
    out.name = strings.add(s.name);
    out.kind = s.kind;
    out.min = s.bounds.min;
    out.max = s.bounds.max;
    out.program = s.program;
    out.input = s.input;
    out.axis = s.axis;
    out.ready_step = s.ready_step;
    out.code = uint32_t(L.code.size());
    out.code_size = uint32_t(s.code.size());
    L.code.insert(L.code.end(), s.code.begin(), s.code.end());
    L.symbols.push_back(out);
  }
  for (const Value& v : values) {
    eave_value out{};
    out.name = strings.add(v.name);
    out.dtype = uint8_t(v.dtype);
    out.storage = v.storage;
    out.kind = uint8_t(v.kind);
    out.rank = uint8_t(v.dims.size());
    out.program = v.program;
    out.dims = uint32_t(L.dims.size());
    for (const Dim& d : v.dims) L.dims.push_back(d.encoded);
    out.offset = v.offset;
    out.size = v.size;
    out.index = v.index;
    out.first_step = v.first_step;
    out.last_step = v.last_step;
    L.values.push_back(out);
  }
  for (const ProgramBuilder& p : programs_) {
    eave_program out{};
    out.name = strings.add(p.name_);
    out.first_step = uint32_t(L.steps.size());
    out.step_count = uint32_t(p.steps_.size());
    out.inputs = uint32_t(L.lists.size());
    out.input_count = uint32_t(p.inputs_.size());
    L.lists.insert(L.lists.end(), p.inputs_.begin(), p.inputs_.end());
    out.outputs = uint32_t(L.lists.size());
    out.output_count = uint32_t(p.outputs_.size());
    L.lists.insert(L.lists.end(), p.outputs_.begin(), p.outputs_.end());
    out.arena_size = arena_sizes[p.id_];
    L.programs.push_back(out);
    for (const ProgramBuilder::Step& s : p.steps_) {
      eave_step st{};
      st.kind = s.kind;
      st.id = s.id;
      st.input_count = uint32_t(s.inputs.size());
      st.output_count = uint32_t(s.outputs.size());
      st.operands = uint32_t(L.operands.size());
      L.operands.insert(L.operands.end(), s.inputs.begin(), s.inputs.end());
      L.operands.insert(L.operands.end(), s.outputs.begin(), s.outputs.end());
      L.params.resize((L.params.size() + 7) / 8 * 8);
      st.params = uint32_t(L.params.size());
      st.params_size = uint32_t(s.params.size());
      L.params.insert(L.params.end(), s.params.begin(), s.params.end());
      st.programs[0] = s.programs[0];
      st.programs[1] = s.programs[1];
      st.name = strings.add(s.name);
      st.tiles = s.tiles;
      L.steps.push_back(st);
    }
  }

  // PROGRAM section: the table of tables, then each table 8-aligned.
  Bytes prog;
  eave_program_section head{};
  head.table_count = EAVE_TABLE_COUNT;
  prog.append(&head, sizeof head);
  auto table = [&](eave_table_kind kind, size_t count, auto&& append) {
    prog.align(8);
    head.tables[kind] = {uint32_t(prog.size()), uint32_t(count)};
    append();
  };
  table(EAVE_TABLE_SYMBOLS, L.symbols.size(), [&] { prog.append_all(L.symbols); });
  table(EAVE_TABLE_VALUES, L.values.size(), [&] { prog.append_all(L.values); });
  table(EAVE_TABLE_DIMS, L.dims.size(), [&] { prog.append_all(L.dims); });
  table(EAVE_TABLE_STEPS, L.steps.size(), [&] { prog.append_all(L.steps); });
  table(EAVE_TABLE_OPERANDS, L.operands.size(), [&] { prog.append_all(L.operands); });
  table(EAVE_TABLE_PROGRAMS, L.programs.size(), [&] { prog.append_all(L.programs); });
  table(EAVE_TABLE_LISTS, L.lists.size(), [&] { prog.append_all(L.lists); });
  table(EAVE_TABLE_CODE, L.code.size(), [&] { prog.append_all(L.code); });
  table(EAVE_TABLE_PARAMS, L.params.size(), [&] { prog.append_all(L.params); });
  std::memcpy(prog.data().data(), &head, sizeof head);

  // TARGET section.
  Bytes target;
  eave_target_section t{};
  t.arch = uint32_t(target_.arch);
  t.triple = strings.add(target_.triple);
  t.cpu = strings.add(target_.cpu);
  t.feature_count = uint32_t(target_.features.size());
  target.append(&t, sizeof t);
  for (const std::string& f : target_.features) {
    uint32_t ref = strings.add(f);
    target.append(&ref, 4);
  }

  // The file: header, section table, then the sections; WEIGHTS last and page-aligned.
  struct Section {
    uint32_t kind;
    const uint8_t* data;
    size_t size;
    uint32_t flags = 0;
  };
  std::vector<Section> sections = {
      {EAVE_SECTION_STRINGS, reinterpret_cast<const uint8_t*>(strings.blob().data()),
       strings.blob().size()},
      {EAVE_SECTION_TARGET, target.data().data(), target.size()},
      {EAVE_SECTION_PROGRAM, prog.data().data(), prog.size()},
  };
  if (!code_.empty()) sections.push_back({EAVE_SECTION_CODE, code_.data(), code_.size()});
  std::vector<uint8_t> step_info = step_info_section();
  if (!step_info.empty())
    sections.push_back({EAVE_SECTION_STEP_INFO, step_info.data(), step_info.size(),
                        EAVE_SECTION_FLAG_OPTIONAL});
  if (!weights_.empty())
    sections.push_back({EAVE_SECTION_WEIGHTS, weights_.data(), weights_.size()});

  Bytes file;
  eave_file_header h{};
  std::memcpy(h.magic, EAVE_FORMAT_MAGIC, 8);
  h.format_version = EAVE_FORMAT_VERSION;
  h.header_size = sizeof h;
  h.section_table_offset = sizeof h;
  h.section_count = uint32_t(sections.size());
  file.append(&h, sizeof h);
  std::vector<eave_section_entry> entries(sections.size());
  file.append_all(entries);
  for (size_t i = 0; i < sections.size(); ++i) {
    file.align(sections[i].kind == EAVE_SECTION_WEIGHTS ? EAVE_WEIGHTS_ALIGNMENT : 8);
    entries[i] = {sections[i].kind, sections[i].flags, file.size(), sections[i].size,
                  eave_artifact_hash(sections[i].data, sections[i].size)};
    file.append(sections[i].data, sections[i].size);
  }
  h.file_size = file.size();
  std::memcpy(file.data().data() + sizeof h, entries.data(), entries.size() * sizeof entries[0]);
  std::memcpy(file.data().data(), &h, sizeof h);
  // The header checksum covers the header (this field zero) and the section table.
  h.checksum =
      eave_artifact_hash(file.data().data(), sizeof h + entries.size() * sizeof entries[0]);
  std::memcpy(file.data().data(), &h, sizeof h);
  return std::move(file.data());
}

void ArtifactWriter::write_file(const std::string& path) const {
  std::vector<uint8_t> b = bytes();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  out.close();
  EAVE_CHECK(out.good(), "cannot write '", path, "'");
}

std::string ArtifactWriter::static_model_header(const std::string& symbol) {
  return str_cat("/* Generated by eave's artifact writer (ArtifactWriter::static_model_header). ",
                 "Do not edit. */\n#pragma once\n#include <eave/runtime.h>\n\n",
                 "#ifdef __cplusplus\nextern \"C\" {\n#endif\n", "extern const eave_static_model ",
                 symbol, ";\n#ifdef __cplusplus\n}\n#endif\n");
}

std::string ArtifactWriter::static_model_source(const std::string& symbol,
                                                const std::string& kernel_table_symbol) const {
  EAVE_CHECK(code_.empty(), "a static-lib artifact carries no CODE: the kernels are linked in");
  std::vector<uint8_t> b = bytes();
  std::string out = str_cat(
      "/* Generated by eave's artifact writer (ArtifactWriter::static_model_source). Do not "
      "edit. */\n#include <eave/runtime.h>\n\n",
      "/* The kernel table the compiler's model.o defines (an eave_kernel_table). */\n",
      "extern const struct eave_kernel_table ", kernel_table_symbol, ";\n\n",
      "static _Alignas(64) const unsigned char ", symbol, "_artifact[", b.size(), "] = {");
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < b.size(); ++i) {
    out += (i % 16 == 0) ? "\n  " : " ";
    out += "0x";
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
    out += ',';
  }
  out += str_cat("\n};\n\nconst eave_static_model ", symbol, " = {", symbol, "_artifact, sizeof ",
                 symbol, "_artifact, &", kernel_table_symbol, "};\n");
  return out;
}

}  // namespace eave::artifact
