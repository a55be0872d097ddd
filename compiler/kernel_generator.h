// The interface between the program emitter and code generation (lowering/ implements it with
// MLIR). Nothing here includes MLIR.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "compiler/partition.h"
#include "ir/graph.h"

namespace eave {

// One buffer a kernel takes: a value of the graph (a dispatch input or output), or a constant
// the generator made (weights repacked into a microkernel layout) that the emitter stores in
// WEIGHTS.
using KernelOperand = std::variant<Value*, Tensor>;

struct KernelPlan {
  uint32_t index = 0;                  // position in the kernel table
  std::vector<KernelOperand> operands; // buffers[k], in order: inputs first, then the outputs
  Dim tiles = Dim(1);                  // how many tiles the runtime splits across threads
};

class KernelGenerator {
 public:
  virtual ~KernelGenerator() = default;
  virtual KernelSupport support() const = 0;
  // Generates code for a Kernel dispatch. `symbol_of` gives the runtime symbol index holding a
  // symbolic dim's value (kernels read dynamic sizes from syms[index]).
  virtual KernelPlan add(const Dispatch& d, const std::function<int(const Dim&)>& symbol_of) = 0;
  // Compiles every kernel added so far into the CODE shared object (empty if none).
  virtual std::vector<uint8_t> finish() = 0;
  // For static libraries: the kernels and a kernel table named `table_symbol`, as object files
  // to link into model.o.
  virtual std::vector<std::vector<uint8_t>> finish_objects(const std::string& table_symbol) = 0;
  // CPU features the generated code requires, spelled as the runtime's cpu_features.def.
  virtual std::vector<std::string> required_features() const = 0;
};

}  // namespace eave
