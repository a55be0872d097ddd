// Writing .eave artifacts: the compiler's side of runtime/src/artifact_format.h.
//
// The compiler describes what the runtime will execute: symbols (dynamic dims and other
// integers), values with their storage, steps (kernels, builtins, control flow), weights, the
// target and the native code. ArtifactWriter computes what follows from that (live ranges,
// the arena plan with the runtime's own planner, which symbol each input defines), checks it,
// and serializes the file. No MLIR or LLVM here: codegen hands over an ELF shared object.
//
//   ArtifactWriter w;
//   w.set_target({Arch::X86_64, "x86_64-unknown-linux-gnu", "znver4", {"avx2", "fma"}});
//   w.set_code(elf_bytes);
//   SymbolId n = w.add_dim_symbol("batch", {1, 64}, /*nominal=*/8);
//   ProgramBuilder& main = w.main();
//   ValueId x = main.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n), 16});
//   ValueId y = main.add_output("y", EAVE_DTYPE_F32, {Dim::sym(n), 16});
//   main.add_kernel("Relu_0", /*kernel=*/0, /*tiles=*/Dim::sym(n), {x}, {y});
//   w.write_file("model.eave");
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eave/runtime.h"

namespace eave::artifact {

using SymbolId = uint32_t;
using ValueId = uint32_t;
using ProgramId = uint32_t;
using StepId = uint32_t;  // index inside its program

// Builtin ids, from the runtime's registry list (runtime/src/builtins/builtins.def).
enum class Builtin : uint32_t {
#define EAVE_BUILTIN(id, NAME, fn) NAME = id,
#include "runtime/src/builtins/builtins.def"
#undef EAVE_BUILTIN
};

// A dimension: a constant size or a symbol.
struct Dim {
  int64_t encoded;  // artifact encoding: d >= 0 constant, d < 0 symbol -d - 1
  Dim(int64_t constant) : encoded(constant) {}  // NOLINT: sizes read naturally as {n, 16}
  static Dim sym(SymbolId s) { return Dim(-int64_t(s) - 1, 0); }
  bool is_symbol() const { return encoded < 0; }
  SymbolId symbol() const { return SymbolId(-(encoded + 1)); }

 private:
  Dim(int64_t enc, int) : encoded(enc) {}
};

// A symbol expression, built as bytecode for the runtime's evaluator:
//   Expr::sym(n) * 2 + 1, ceil_div(Expr::sym(h) - 3, Expr(2)) + 1
class Expr {
 public:
  Expr(int64_t constant);  // NOLINT: constants mix into expressions
  static Expr sym(SymbolId s);
  // Element `index` of integer value `v`, computed before the expression is evaluated.
  static Expr load(ValueId v, const Expr& index);
  const std::vector<uint8_t>& code() const { return code_; }

  friend Expr operator+(const Expr& a, const Expr& b);
  friend Expr operator-(const Expr& a, const Expr& b);
  friend Expr operator*(const Expr& a, const Expr& b);
  friend Expr operator-(const Expr& a);
  friend Expr floor_div(const Expr& a, const Expr& b);
  friend Expr ceil_div(const Expr& a, const Expr& b);
  friend Expr mod(const Expr& a, const Expr& b);  // floor modulo
  friend Expr min(const Expr& a, const Expr& b);
  friend Expr max(const Expr& a, const Expr& b);
  friend Expr abs(const Expr& a);
  friend Expr eq(const Expr& a, const Expr& b);
  friend Expr lt(const Expr& a, const Expr& b);
  friend Expr le(const Expr& a, const Expr& b);
  friend Expr select(const Expr& cond, const Expr& a, const Expr& b);

 private:
  Expr() = default;
  static Expr op(uint8_t opcode, std::initializer_list<const Expr*> args);
  std::vector<uint8_t> code_;
};

enum class Arch : uint32_t { X86_64 = 1, AArch64 = 2, RiscV64 = 3 };

struct Target {
  Arch arch = Arch::X86_64;
  std::string triple;                 // "x86_64-unknown-linux-gnu"
  std::string cpu;                    // "znver4"
  std::vector<std::string> features;  // only those the code needs: "avx2", "neon", "v"
};

// Every value a symbol takes is checked against [min, max]; max -1 is unbounded.
struct Bounds {
  int64_t min = 0;
  int64_t max = -1;
};

class ArtifactWriter;

// One program: the model (program 0) or a nested body of IF / LOOP / SCAN / SEQUENCE_MAP.
// Values and steps added here belong to it; steps run in the order they are added.
//
// Values are tensors unless given another eave_value_kind: a sequence or optional is a list the
// session holds (no dims; `dtype` is its elements'), as an input, an output or a heap value.
class ProgramBuilder {
 public:
  ProgramId id() const { return id_; }
  uint32_t step_count() const { return uint32_t(steps_.size()); }
  uint32_t input_count() const { return uint32_t(inputs_.size()); }

  // The next input slot: a caller's tensor (program 0) or what the control-flow step passes.
  ValueId add_input(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                    eave_value_kind kind = EAVE_VALUE_TENSOR);
  // The next output slot, written in place by the step that produces it.
  ValueId add_output(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                     eave_value_kind kind = EAVE_VALUE_TENSOR);
  // Any value of this program as the next output slot (copied into the slot at the end).
  void add_output_value(ValueId v);
  // An activation in the arena; dims may use input symbols and start-time expressions only.
  ValueId add_arena(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims);
  // Memory sized when first written: for dims that depend on RUNTIME or late symbols.
  ValueId add_heap(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                   eave_value_kind kind = EAVE_VALUE_TENSOR);
  // A view of bytes [byte_offset, ...) of an earlier value of this program.
  ValueId add_alias(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                    ValueId base, uint64_t byte_offset = 0);
  // A constant, stored in WEIGHTS (64-byte aligned); bytes must match dtype and dims.
  ValueId add_weight(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                     std::span<const uint8_t> bytes);
  // The bytes of weight `w` (of any program) as a weight of this one, stored once.
  ValueId add_shared_weight(const std::string& name, ValueId w);

  // eave_kernels.fns[kernel](operands..., syms, tiles), tiles split across threads.
  StepId add_kernel(const std::string& name, uint32_t kernel, Dim tiles,
                    const std::vector<ValueId>& inputs, const std::vector<ValueId>& outputs);
  // A runtime builtin; `inputs` may hold kAbsent for an absent optional input, `outputs` for an
  // output the graph does not use (the builtin then skips it).
  StepId add_builtin(const std::string& name, Builtin builtin, const std::vector<ValueId>& inputs,
                     const std::vector<ValueId>& outputs, std::span<const uint8_t> params = {});
  // Runs then_program on then_inputs if cond's one element is nonzero, else else_program on
  // else_inputs; either gives `outputs` (kAbsent for an unused one).
  StepId add_if(const std::string& name, ValueId cond, const std::vector<ValueId>& then_inputs,
                const std::vector<ValueId>& else_inputs, const std::vector<ValueId>& outputs,
                ProgramId then_program, ProgramId else_program);
  // ONNX Loop: body takes [iter i64, cond bool, state..., captures...] and gives
  // [cond bool, state..., scan elements...]; `outputs` are the final state values then the
  // stacked scan outputs (kAbsent for an unused one).
  StepId add_loop(const std::string& name, std::optional<ValueId> max_trip,
                  std::optional<ValueId> cond, const std::vector<ValueId>& state_in,
                  const std::vector<ValueId>& outputs, ProgramId body,
                  const std::vector<ValueId>& captures = {});
  // ONNX Scan: body takes [state..., one slice of each scan input..., captures...] and gives
  // [state..., scan elements...]. `params` is an attribute blob (builtins/attrs.h) with
  // num_scan_inputs and the axes/directions; its opset < 9 means the opset-8 form, which may
  // take `sequence_lens`.
  StepId add_scan(const std::string& name, std::optional<ValueId> sequence_lens,
                  const std::vector<ValueId>& state_in, const std::vector<ValueId>& scan_in,
                  const std::vector<ValueId>& outputs, ProgramId body,
                  std::span<const uint8_t> params, const std::vector<ValueId>& captures = {});
  // ONNX SequenceMap: body runs per element of inputs[0] (a sequence) taking element i of each
  // sequence among `inputs` and the rest whole, then the captures; each output collects one
  // tensor per element.
  StepId add_sequence_map(const std::string& name, const std::vector<ValueId>& inputs,
                          const std::vector<ValueId>& outputs, ProgramId body,
                          const std::vector<ValueId>& captures = {});

  static constexpr ValueId kAbsent = 0xffffffffu;

 private:
  friend class ArtifactWriter;
  struct Step {
    uint32_t kind = 0, id = 0;
    std::string name;
    std::vector<int32_t> inputs, outputs;
    std::vector<uint8_t> params;
    uint32_t programs[2] = {0, 0};
    int64_t tiles = 0;
  };
  ProgramBuilder(ArtifactWriter* w, ProgramId id, std::string name)
      : writer_(w), id_(id), name_(std::move(name)) {}
  ValueId add_value(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                    uint8_t storage, eave_value_kind kind = EAVE_VALUE_TENSOR);
  // A value in the next input or output slot.
  ValueId add_slot(const std::string& name, eave_dtype dtype, const std::vector<Dim>& dims,
                   uint8_t storage, std::vector<ValueId>& slots, eave_value_kind kind);
  StepId add_step(Step step);
  void check_nested(const std::string& step, ProgramId p) const;
  // A control-flow step running `body`: the `optional` operands (-1 when absent), then each
  // group of values, then the outputs (kAbsent for an unused one).
  Step control_step(uint32_t kind, const std::string& name, uint32_t id, ProgramId body,
                    std::initializer_list<std::optional<ValueId>> optional,
                    std::initializer_list<const std::vector<ValueId>*> groups,
                    const std::vector<ValueId>& outputs) const;
  int32_t operand(ValueId v, bool optional) const;

  ArtifactWriter* writer_;
  ProgramId id_;
  std::string name_;
  std::vector<ValueId> inputs_, outputs_;
  std::vector<Step> steps_;
};

class ArtifactWriter {
 public:
  ArtifactWriter();
  ArtifactWriter(const ArtifactWriter&) = delete;
  ArtifactWriter& operator=(const ArtifactWriter&) = delete;

  void set_target(Target target) { target_ = std::move(target); }
  // The ELF shared object with `eave_kernels`; leave empty for a static-lib artifact.
  void set_code(std::vector<uint8_t> elf) { code_ = std::move(elf); }

  // A dynamic dim. The first program input (program order, then slot, then axis) that uses it
  // defines it at run time; `nominal` is the size the arena is planned for.
  SymbolId add_dim_symbol(const std::string& name, Bounds bounds, int64_t nominal);
  // Computed from other symbols when `program` starts (ready_step -1), or just before step
  // `ready_step` of it (needed for LOAD of values computed by earlier steps).
  SymbolId add_expr_symbol(const std::string& name, const Expr& expr, Bounds bounds = {},
                           ProgramId program = 0, int32_t ready_step = -1);
  // Set while a step of `program` runs: by a builtin (NonZero's count) or a control-flow
  // step (a loop's trip count). Undefined again each time that program starts.
  SymbolId add_runtime_symbol(const std::string& name, Bounds bounds = {}, ProgramId program = 0);

  ProgramBuilder& main() { return programs_.front(); }
  // A nested program for IF / LOOP; the reference stays valid for the writer's life.
  ProgramBuilder& add_program(const std::string& name);
  ProgramBuilder& program(ProgramId id);

  // Where step `step` of `program` came from, for tools (`eave profile`): the model nodes it
  // runs and its floating-point operations per run (an expression over the symbols, without
  // LOAD; nullopt when unknown). Written as the optional STEP_INFO section, which the runtime
  // skips.
  struct StepNode {
    std::string name, op_type;
  };
  void set_step_info(ProgramId program, StepId step, std::vector<StepNode> nodes,
                     std::optional<Expr> flops);

  // The artifact, checked. Throws eave::Error naming the symbol, value or step at fault.
  std::vector<uint8_t> bytes() const;
  void write_file(const std::string& path) const;

  // For firmware: C source defining `const eave_static_model <symbol>` with the artifact (no
  // CODE section: leave the code empty) as a 64-byte aligned array and a pointer to the kernel
  // table `kernel_table_symbol` that the compiler's model.o defines. Compile it with the
  // runtime's include dir; eave_model_load_static() takes the result.
  std::string static_model_source(const std::string& symbol,
                                  const std::string& kernel_table_symbol) const;
  // The matching header: `extern const eave_static_model <symbol>;`.
  static std::string static_model_header(const std::string& symbol);

 private:
  friend class ProgramBuilder;
  struct Symbol {
    std::string name;
    uint32_t kind = 0;  // eave_symbol_kind; 0 until an input defines it
    Bounds bounds;
    int64_t nominal = 0;
    ProgramId program = 0;
    uint32_t input = 0, axis = 0;
    int32_t ready_step = -1;
    std::vector<uint8_t> code;
  };
  struct Value {
    std::string name;
    eave_dtype dtype = EAVE_DTYPE_UNDEFINED;
    uint8_t storage = 0;
    eave_value_kind kind = EAVE_VALUE_TENSOR;
    ProgramId program = 0;
    std::vector<Dim> dims;
    uint64_t offset = 0, size = 0;
    uint32_t index = 0;
    int32_t first_step = -1, last_step = -1;
  };
  struct Layout;  // the serialized tables, built by bytes()
  struct StepInfo {
    ProgramId program;
    StepId step;
    std::vector<StepNode> nodes;
    std::optional<Expr> flops;
  };
  std::vector<uint8_t> step_info_section() const;

  void check_dims(const std::string& what, const std::vector<Dim>& dims) const;
  std::vector<int64_t> nominal_symbols(std::vector<Symbol>& symbols) const;
  void plan(std::vector<Symbol>& symbols, std::vector<Value>& values,
            std::vector<uint64_t>& arena_sizes) const;

  Target target_;
  std::vector<uint8_t> code_;
  std::vector<Symbol> symbols_;
  std::vector<Value> values_;
  std::vector<uint8_t> weights_;
  std::deque<ProgramBuilder> programs_;
  std::vector<StepInfo> step_info_;
};

}  // namespace eave::artifact
