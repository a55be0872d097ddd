#include "lowering/mlir_kernel_generator.h"

#include "codegen/mlir_to_object.h"
#include "compiler/compile.h"
#include "compiler/emit_program.h"
#include "lowering/elementwise_ops.h"
#include "lowering/fused_epilogue.h"
#include "lowering/lowering.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "support/error.h"

namespace eave {

namespace lowering {

mlir::MemRefType memref_type(mlir::Builder& b, const Value* v) {
  llvm::SmallVector<int64_t> shape;
  for (const Dim& d : v->shape().dims())
    shape.push_back(d.is_const() ? d.value() : mlir::ShapedType::kDynamic);
  return mlir::MemRefType::get(shape, storage_type(b, v->dtype()));
}

codegen::KernelOperand binding_operand(const LoweringContext& lc, int buffer, const Value* v) {
  codegen::KernelOperand op;
  op.buffer = buffer;
  for (const Dim& d : v->shape().dims()) op.dim_syms.push_back(d.is_const() ? -1 : lc.symbol_of(d));
  return op;
}

}  // namespace lowering

namespace {

class MlirKernelGenerator : public KernelGenerator {
 public:
  MlirKernelGenerator(const codegen::TargetSpec& target, std::string prefix,
                      codegen::CompileOptions options)
      : target_(target), prefix_(std::move(prefix)), options_(std::move(options)),
        info_(codegen::resolve_target(target)),
        ctx_(codegen::make_codegen_context()),
        module_(mlir::ModuleOp::create(mlir::UnknownLoc::get(ctx_.get()))) {}

  KernelSupport support() const override {
    KernelSupport s;
    s.generates = [](const Node& n) {
      if (has_string_operand(n)) return false;  // strings: runtime builtins only
      return lowering::lowers_elementwise(n) || lowering::lowers_matmul(n) ||
             lowering::lowers_conv(n) || lowering::lowers_pool(n) ||
             lowering::lowers_batch_matmul(n) || lowering::lowers_reduction(n) ||
             lowering::lowers_normalization(n) || lowering::lowers_data_movement(n);
    };
    s.is_elementwise = [](const Node& n) { return lowering::lowers_elementwise(n); };
    s.takes_epilogue = [](const Node& n) {
      return lowering::lowers_matmul(n) || lowering::lowers_conv(n) ||
             lowering::lowers_batch_matmul(n) || lowering::lowers_reduction(n) ||
             lowering::lowers_normalization(n);
    };
    s.fuses = [](const Node& anchor, const Node& consumer) {
      if (lowering::lowers_matmul(anchor)) return lowering::matmul_fuses(anchor, consumer);
      if (lowering::lowers_conv(anchor))
        return lowering::epilogue_fuses(anchor, consumer, lowering::classify_channel_operand);
      if (lowering::lowers_batch_matmul(anchor)) return lowering::batch_matmul_fuses(anchor, consumer);
      if (lowering::lowers_reduction(anchor)) return lowering::reduction_fuses(anchor, consumer);
      if (lowering::lowers_normalization(anchor))
        return lowering::normalization_fuses(anchor, consumer);
      return true;
    };
    return s;
  }

  KernelPlan add(const Dispatch& d, const std::function<int(const Dim&)>& symbol_of) override {
    lowering::LoweringContext lc{ctx_.get(), *module_, target_, info_, symbol_of};
    std::string name = prefix_ + "k" + std::to_string(bindings_.size());
    const Node& anchor = *d.anchor();
    lowering::LoweredKernel k = lowering::lowers_matmul(anchor)      ? lowering::lower_matmul(lc, d, name)
                                : lowering::lowers_conv(anchor)      ? lowering::lower_conv(lc, d, name)
                                : lowering::lowers_pool(anchor)      ? lowering::lower_pool(lc, d, name)
                                : lowering::lowers_batch_matmul(anchor)
                                    ? lowering::lower_batch_matmul(lc, d, name)
                                : lowering::lowers_reduction(anchor) ? lowering::lower_reduction(lc, d, name)
                                : lowering::lowers_normalization(anchor)
                                    ? lowering::lower_normalization(lc, d, name)
                                : lowering::lowers_data_movement(anchor)
                                    ? lowering::lower_data_movement(lc, d, name)
                                    : lowering::lower_elementwise(lc, d, name);
    KernelPlan plan;
    plan.index = uint32_t(bindings_.size());
    plan.operands = std::move(k.operands);
    plan.tiles = k.tiles;
    symbols_.push_back(k.binding.symbol);
    bindings_.push_back(std::move(k.binding));
    return plan;
  }

  std::vector<uint8_t> finish() override {
    if (bindings_.empty()) return {};
    codegen::Bytes obj = compile_module();
    codegen::Bytes table = codegen::emit_kernel_table_object(symbols_, target_);
    return codegen::link_shared_object({obj, table}, target_);
  }

  std::vector<std::vector<uint8_t>> finish_objects(const std::string& table_symbol) override {
    std::vector<std::vector<uint8_t>> out;
    if (!bindings_.empty()) out.push_back(compile_module());
    out.push_back(codegen::emit_kernel_table_object(symbols_, target_, table_symbol));
    return out;
  }

  std::vector<std::string> required_features() const override {
    return codegen::required_features(target_);
  }

 private:
  codegen::Bytes compile_module() {
    return codegen::compile_to_object(*module_, bindings_, target_, options_);
  }

  codegen::TargetSpec target_;
  std::string prefix_;
  codegen::CompileOptions options_;
  codegen::TargetInfo info_;
  std::unique_ptr<mlir::MLIRContext> ctx_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  std::vector<codegen::KernelBinding> bindings_;
  std::vector<std::string> symbols_;
};

codegen::TargetSpec target_of(const CompileOptions& o) {
  if (o.target == "host" && o.cpu.empty()) return codegen::host_target();
  return codegen::preset_target(o.target, o.cpu);
}

}  // namespace

std::unique_ptr<KernelGenerator> make_mlir_kernel_generator(const codegen::TargetSpec& target,
                                                           const std::string& symbol_prefix,
                                                           const codegen::CompileOptions& codegen) {
  return std::make_unique<MlirKernelGenerator>(target, symbol_prefix, codegen);
}

void use_mlir_kernel_generator() {
  set_kernel_generator_factory([](const CompileOptions& o) {
    // Static libraries prefix their kernels with the model's symbol: several models link into
    // one firmware image without clashing.
    codegen::CompileOptions codegen;
    codegen.print_ir_after.assign(o.pipeline.print_ir_after.begin(), o.pipeline.print_ir_after.end());
    codegen.print = o.pipeline.print;
    return make_mlir_kernel_generator(target_of(o), o.static_lib ? o.symbol + "_" : "", codegen);
  });
}

}  // namespace eave
