// Control-flow emission: If, Loop, Scan and SequenceMap nodes into IF, LOOP, SCAN and
// SEQUENCE_MAP steps over nested programs.
//
// Each subgraph becomes a nested program emitted by a child of the enclosing program's
// emitter: its explicit inputs first (the branch's none, the loop body's iteration count,
// condition and carried values, the scan body's state and slices, the map body's elements),
// then whatever it reads from enclosing graphs, captured on first use. The step passes the
// captured values after its own operands, in the same order. Subgraphs are emitted before the
// step's outputs get their storage, so the dims a subgraph shares by name with the node's
// outputs (inference gives a loop-carried value that changes shape one fresh dim for both)
// stay the nested program's own symbols, while the outputs' ones become RUNTIME symbols of
// this program that the step defines when it ends.
#include "compiler/emit_control_flow.h"

#include "codegen/builtin_attrs.h"
#include "support/error.h"

namespace eave {

using artifact::ProgramBuilder;
using artifact::ProgramId;
using artifact::ValueId;

namespace {

struct Nested {
  ProgramId id;
  std::vector<ValueId> captured;
};

Nested emit_subgraph(ProgramEmitter& e, Graph& g, const std::string& name) {
  std::unique_ptr<ProgramEmitter> inner = e.nested(name);
  for (const Value* in : g.inputs()) inner->add_input(in);
  inner->emit_body(g);
  return {inner->program().id(), inner->captured()};
}

// The node's outputs (kAbsent for unused ones), padded to `count` for the outputs a node may
// leave off the end.
std::vector<ValueId> outputs_of(ProgramEmitter& e, const Node& n, size_t count) {
  EAVE_CHECK(n.num_outputs() <= count, n.describe(), ": has ", n.num_outputs(),
             " outputs, its subgraph gives ", count);
  std::vector<ValueId> outs;
  for (const Value* v : n.outputs()) outs.push_back(v ? e.output_of(v) : ProgramBuilder::kAbsent);
  outs.resize(count, ProgramBuilder::kAbsent);
  return outs;
}

std::optional<ValueId> optional_input(ProgramEmitter& e, const Node& n, size_t i) {
  if (const Value* v = n.input(i)) return e.value_of(v);
  return std::nullopt;
}

// Inputs [first, first + count) of the node, every one present.
std::vector<ValueId> inputs_of(ProgramEmitter& e, const Node& n, size_t first, size_t count,
                               const char* what) {
  std::vector<ValueId> ins;
  for (size_t i = first; i < first + count; ++i) {
    const Value* v = n.input(i);
    EAVE_CHECK(v, n.describe(), ": ", what, " ", i - first, " is absent");
    ins.push_back(e.value_of(v));
  }
  return ins;
}

std::string step_name(const Node& n) { return n.name().empty() ? n.op_type() : n.name(); }

void emit_if(ProgramEmitter& e, const Node& n) {
  std::string name = step_name(n);
  Graph& then_g = *n.attr_graph("then_branch");
  Graph& else_g = *n.attr_graph("else_branch");
  EAVE_CHECK(then_g.inputs().empty() && else_g.inputs().empty(), n.describe(),
             ": If branches take no inputs");
  EAVE_CHECK(then_g.outputs().size() == else_g.outputs().size(), n.describe(), ": the branches ",
             "give ", then_g.outputs().size(), " and ", else_g.outputs().size(), " outputs");
  Nested t = emit_subgraph(e, then_g, name + ".then");
  Nested f = emit_subgraph(e, else_g, name + ".else");
  ValueId cond = e.value_of(n.input(0));
  std::vector<ValueId> outs = outputs_of(e, n, then_g.outputs().size());
  e.program().add_if(name, cond, t.captured, f.captured, outs, t.id, f.id);
}

// Inputs (M?, cond?, v_initial...), body (iter, cond, v...) -> (cond, v..., scan...).
void emit_loop(ProgramEmitter& e, const Node& n) {
  std::string name = step_name(n);
  Graph& body = *n.attr_graph("body");
  EAVE_CHECK(n.num_inputs() >= 2, n.describe(), ": Loop takes M and cond (either may be empty)");
  size_t carried = n.num_inputs() - 2;
  EAVE_CHECK(body.inputs().size() == carried + 2 && body.outputs().size() >= carried + 1,
             n.describe(), ": the body takes ", body.inputs().size(), " inputs and gives ",
             body.outputs().size(), " outputs for ", carried, " loop-carried values");
  Nested b = emit_subgraph(e, body, name + ".body");
  std::optional<ValueId> max_trip = optional_input(e, n, 0), cond = optional_input(e, n, 1);
  std::vector<ValueId> state = inputs_of(e, n, 2, carried, "loop-carried value");
  std::vector<ValueId> outs = outputs_of(e, n, body.outputs().size() - 1);
  e.program().add_loop(name, max_trip, cond, state, outs, b.id, b.captured);
}

// Opset 9+: inputs (state..., scan_input...); opset 8: (sequence_lens?, state..., ...).
void emit_scan(ProgramEmitter& e, const Node& n) {
  std::string name = step_name(n);
  Graph& body = *n.attr_graph("body");
  size_t first = n.opset() < 9 ? 1 : 0;
  int64_t m = n.attr_int("num_scan_inputs");
  EAVE_CHECK(m >= 1 && n.num_inputs() >= first + size_t(m), n.describe(), ": num_scan_inputs ",
             m, " does not fit its ", n.num_inputs(), " inputs");
  size_t state_count = n.num_inputs() - first - size_t(m);
  EAVE_CHECK(body.inputs().size() == state_count + size_t(m) &&
                 body.outputs().size() >= state_count,
             n.describe(), ": the body takes ", body.inputs().size(), " inputs and gives ",
             body.outputs().size(), " outputs for ", state_count, " state values and ", m,
             " scan inputs");
  Nested b = emit_subgraph(e, body, name + ".body");
  std::optional<ValueId> lens = first ? optional_input(e, n, 0) : std::nullopt;
  std::vector<ValueId> state = inputs_of(e, n, first, state_count, "state value");
  std::vector<ValueId> scan = inputs_of(e, n, first + state_count, size_t(m), "scan input");
  std::vector<ValueId> outs = outputs_of(e, n, body.outputs().size());
  // The node's attributes (num_scan_inputs, axes, directions) and opset are the step's params.
  std::vector<uint8_t> params = encode_builtin_attrs(n);
  e.program().add_scan(name, lens, state, scan, outs, b.id, params, b.captured);
}

void emit_sequence_map(ProgramEmitter& e, const Node& n) {
  std::string name = step_name(n);
  Graph& body = *n.attr_graph("body");
  EAVE_CHECK(body.inputs().size() == n.num_inputs(), n.describe(), ": the body takes ",
             body.inputs().size(), " inputs, the node has ", n.num_inputs());
  Nested b = emit_subgraph(e, body, name + ".body");
  std::vector<ValueId> ins = inputs_of(e, n, 0, n.num_inputs(), "input");
  std::vector<ValueId> outs = outputs_of(e, n, body.outputs().size());
  e.program().add_sequence_map(name, ins, outs, b.id, b.captured);
}

}  // namespace

void emit_control_flow(ProgramEmitter& e, const Dispatch& d) {
  const Node& n = *d.anchor();
  switch (d.kind) {
    case DispatchKind::If: return emit_if(e, n);
    case DispatchKind::Loop: return emit_loop(e, n);
    case DispatchKind::Scan: return emit_scan(e, n);
    case DispatchKind::SequenceMap: return emit_sequence_map(e, n);
    default: internal_fail("dispatch '", d.name, "' is not control flow");
  }
}

}  // namespace eave
