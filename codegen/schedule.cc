#include "codegen/schedule.h"

#include "mlir/Dialect/Transform/IR/TransformOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "support/error.h"

namespace eave::codegen {

namespace {

constexpr const char* kEntry = "__transform_main";

// Parses `declarations` and `sequence` (one transform.named_sequence that may call the
// sequences declared) and appends the sequence to `module`.
void append_sequence(mlir::ModuleOp module, const std::string& sequence,
                     const std::string& declarations = "") {
  mlir::MLIRContext* ctx = module.getContext();
  std::string text = "module attributes {transform.with_named_sequence} {\n" + declarations +
                     sequence + "}\n";
  std::string errors;
  mlir::ScopedDiagnosticHandler handler(ctx, [&](mlir::Diagnostic& d) {
    errors += d.str() + "\n";
    return mlir::success();
  });
  mlir::OwningOpRef<mlir::ModuleOp> parsed =
      mlir::parseSourceString<mlir::ModuleOp>(text, ctx, "schedule.mlir");
  if (!parsed) internal_fail("a kernel's transform schedule does not parse: ", errors, text);
  mlir::Operation& op = parsed->getBody()->back();
  op.remove();
  module.getBody()->push_back(&op);
  module->setAttr("transform.with_named_sequence", mlir::UnitAttr::get(ctx));
}

std::string signature(const std::string& name) {
  return "transform.named_sequence @" + name + "(%root: !transform.any_op {transform.readonly})";
}

std::string sequence(const std::string& name, const std::string& body) {
  return signature(name) + " {\n" + body + "transform.yield\n}\n";
}

}  // namespace

bool has_schedule(mlir::ModuleOp module, const std::string& name) {
  return module.lookupSymbol<mlir::transform::NamedSequenceOp>(name) != nullptr;
}

void add_schedule(mlir::ModuleOp module, const std::string& name, const std::string& ops) {
  EAVE_CHECK(!has_schedule(module, name), "schedule '", name, "' added twice");
  append_sequence(module, sequence(name, ops));
}

std::string match_scheduled_ops(const std::string& handle, const std::string& op,
                                const std::string& schedule) {
  const std::string any = "!transform.any_op";
  return handle + " = transform.structured.match ops{[\"" + op + "\"]} attributes{" +
         kScheduleAttr + " = \"" + schedule + "\"} in %root : (" + any + ") -> " + any + "\n" +
         handle + "_func = transform.get_parent_op " + handle +
         " {deduplicate, op_name = \"func.func\"} : (" + any + ") -> " + any + "\n";
}

std::string apply_patterns(const std::string& target, std::initializer_list<std::string> sets) {
  std::string s = "transform.apply_patterns to " + target + " {\n";
  for (const std::string& set : sets) s += "  transform.apply_patterns." + set + "\n";
  return s + "} : !transform.any_op\n";
}

std::string fold_and_hoist(const std::string& func) {
  const std::string any = "!transform.any_op";
  return apply_patterns(func, {"memref.fold_memref_alias_ops"}) +
         apply_patterns(func, {"canonicalization"}) +
         "transform.apply_cse to " + func + " : " + any + "\n"
         "%hoisted = transform.structured.hoist_redundant_vector_transfers " + func + " : (" +
         any + ") -> " + any + "\n";
}

std::string vectorize_and_hoist(const std::string& func) {
  const std::string any = "!transform.any_op";
  return "%vectorized = transform.structured.vectorize_children_and_apply_patterns " + func +
         " : (" + any + ") -> " + any + "\n" + fold_and_hoist("%vectorized");
}

std::string unroll_marked_loops(const std::string& marker, int64_t factor) {
  const std::string any = "!transform.any_op", handle = "%" + marker + "_loops";
  return handle + " = transform.structured.match ops{[\"scf.for\"]} attributes{" + marker +
         "} in %root : (" + any + ") -> " + any + "\n"
         "transform.loop.unroll " + handle + " {factor = " + std::to_string(factor) + "} : " +
         any + "\n";
}

bool make_schedule_entry(mlir::ModuleOp module) {
  if (has_schedule(module, kEntry)) return true;  // written by hand
  std::string declarations, calls;
  for (auto s : module.getBody()->getOps<mlir::transform::NamedSequenceOp>()) {
    std::string name = s.getSymName().str();
    declarations += signature(name) + "\n";
    calls += "transform.include @" + name + " failures(propagate) (%root) : (!transform.any_op) -> ()\n";
  }
  if (calls.empty()) return false;
  append_sequence(module, sequence(kEntry, calls), declarations);
  return true;
}

}  // namespace eave::codegen
