// Control-flow emission: If, Loop, Scan and SequenceMap dispatches become IF, LOOP, SCAN and
// SEQUENCE_MAP steps (runtime/src/artifact_format.h) whose subgraphs are emitted as nested
// programs by the same program emitter as the main graph (compiler/emit_program.cc), so their
// nodes run as kernels or builtins exactly as they would outside. A nested program's inputs
// are its subgraph's inputs, then the values of enclosing graphs it reads (captures), which
// the step passes after its own operands; its symbols and values belong to it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "codegen/artifact_writer.h"
#include "compiler/partition.h"
#include "ir/graph.h"

namespace eave {

// The program emitter as control-flow emission sees it: one per program, implemented in
// emit_program.cc.
class ProgramEmitter {
 public:
  virtual ~ProgramEmitter() = default;
  virtual artifact::ProgramBuilder& program() = 0;
  // The value holding `v` here: what a step produced, a weight, or, for a value of an
  // enclosing graph, an input slot through which this program captures it.
  virtual artifact::ValueId value_of(const Value* v) = 0;
  // The value a step of this program writes `v` into.
  virtual artifact::ValueId output_of(const Value* v) = 0;
  // An emitter for a new nested program named `name`, enclosed by this one.
  virtual std::unique_ptr<ProgramEmitter> nested(const std::string& name) = 0;

  // Nested programs only:
  // The next input slot, for subgraph input `v`. Its symbolic dims become symbols of this
  // program, defined from what is passed each time it starts.
  virtual artifact::ValueId add_input(const Value* v) = 0;
  // Emits the nodes of subgraph `g`, partitioned like the main graph, and its outputs as this
  // program's output slots.
  virtual void emit_body(Graph& g) = 0;
  // The enclosing program's values for the slots added by capture, in slot order (after the
  // explicit inputs).
  virtual const std::vector<artifact::ValueId>& captured() const = 0;
};

// Emits dispatch `d` (If, Loop, Scan or SequenceMap) as one step of e's program.
void emit_control_flow(ProgramEmitter& e, const Dispatch& d);

}  // namespace eave
