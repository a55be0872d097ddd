// Transform-dialect schedules of generated dispatches. A lowering that states its loop nest as
// a structured op (linalg) tags the op with `eave.schedule = "<kernel>"` and adds the text of
// a transform sequence for it: how it is tiled, peeled and vectorized for the target. The
// sequences of every dispatch become one `__transform_main` in the kernel module, applied by
// codegen's "schedule" stage (codegen/mlir_to_object.cc) and printed with the payload by
// `eave compile --print-ir-after=bufferize`.
#pragma once

#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"

namespace eave::lowering {

class TransformSchedule {
 public:
  // Adds the transform ops for one kernel. `ops` uses `%root` (the module) and defines its own
  // values, each prefixed by the kernel's name so that sequences of different kernels never
  // clash.
  void add(std::string ops) { parts_.push_back(std::move(ops)); }
  bool empty() const { return parts_.empty(); }

  // Parses the sequences into `module` as its `__transform_main`. An internal error (with the
  // parser's message) if a lowering wrote one that does not parse.
  void attach(mlir::ModuleOp module) const;

 private:
  std::vector<std::string> parts_;
};

// The attribute that names a structured op for its schedule.
constexpr const char* kScheduleAttr = "eave.schedule";

}  // namespace eave::lowering
