// Transform-dialect schedules of generated dispatches. A lowering that states its loop nest as
// a structured op (linalg) tags the op with `eave.schedule = "<schedule>"` and adds the text
// of that named schedule once: how such ops are tiled, peeled and vectorized for the target
// (`elementwise_r2_v16_peeled`). Every dispatch with the same schedule is transformed by the
// same ops in one go. The schedules become one `__transform_main` in the kernel module,
// applied by codegen's "schedule" stage (codegen/mlir_to_object.cc) and printed with the
// payload by `eave compile --print-ir-after=bufferize`.
#pragma once

#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"

namespace eave::lowering {

class TransformSchedule {
 public:
  // Whether the schedule `name` has been added.
  bool has(const std::string& name) const { return parts_.count(name) > 0; }
  // Adds the transform ops of schedule `name`. `ops` uses `%root` (the module) and defines its
  // own values, each prefixed by the schedule's name so that schedules never clash.
  void add(const std::string& name, std::string ops) { parts_.emplace(name, std::move(ops)); }

  // Parses the sequences into `module` as its `__transform_main`. An internal error (with the
  // parser's message) if a lowering wrote one that does not parse.
  void attach(mlir::ModuleOp module) const;

 private:
  std::map<std::string, std::string> parts_;
};

// The attribute that names a structured op for its schedule.
constexpr const char* kScheduleAttr = "eave.schedule";

}  // namespace eave::lowering
