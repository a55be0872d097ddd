#include "lowering/schedule.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "support/error.h"

namespace eave::lowering {

void TransformSchedule::attach(mlir::ModuleOp module) const {
  if (parts_.empty()) return;
  std::string text =
      "module attributes {transform.with_named_sequence} {\n"
      "transform.named_sequence @__transform_main(%root: !transform.any_op "
      "{transform.readonly}) {\n";
  for (const auto& [name, ops] : parts_) text += ops;
  text += "transform.yield\n}\n}\n";

  mlir::MLIRContext* ctx = module.getContext();
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic& d) {
    errors += d.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> parsed =
      mlir::parseSourceString<mlir::ModuleOp>(text, ctx, "schedule.mlir");
  if (!parsed) internal_fail("a kernel's transform schedule does not parse: ", errors, text);
  for (mlir::Operation& op : llvm::make_early_inc_range(parsed->getBody()->getOperations())) {
    op.remove();
    module.getBody()->push_back(&op);
  }
  module->setAttr("transform.with_named_sequence", mlir::UnitAttr::get(ctx));
}

}  // namespace eave::lowering
