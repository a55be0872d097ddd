// MLIR module -> LLVM IR -> object file. The whole CPU pipeline is `codegen_pipeline` below, a
// flat list of named stages; everything else in this file is plumbing for it.
#include "codegen/mlir_to_object.h"

#include <algorithm>
#include <functional>
#include <mutex>

#include "codegen/llvm_support.h"
#include "codegen/schedule.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "support/error.h"

namespace eave::codegen {

namespace {

void register_passes_once() {
  static std::once_flag registered;
  std::call_once(registered, [] { mlir::registerAllPasses(); });
}

}  // namespace

std::unique_ptr<mlir::MLIRContext> make_codegen_context(bool multithreaded) {
  register_passes_once();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  auto ctx = std::make_unique<mlir::MLIRContext>(
      registry, multithreaded ? mlir::MLIRContext::Threading::ENABLED
                              : mlir::MLIRContext::Threading::DISABLED);
  ctx->loadAllAvailableDialects();
  return ctx;
}

namespace {

// Collects MLIR diagnostics while alive; `take()` returns them as one message.
class DiagnosticCollector {
 public:
  explicit DiagnosticCollector(mlir::MLIRContext* ctx)
      : handler_(ctx, [this](mlir::Diagnostic& d) {
          llvm::raw_string_ostream os(text_);
          os << d.getLocation() << ": " << d << "\n";
          for (const mlir::Diagnostic& note : d.getNotes())
            os << "  note: " << note.getLocation() << ": " << note << "\n";
          return mlir::success();
        }) {}
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
  mlir::ScopedDiagnosticHandler handler_;
};

struct PipelineContext {
  const std::vector<KernelBinding>& kernels;
  const CompileOptions& options;
  bool print_after(llvm::StringRef name) const {
    return llvm::any_of(options.print_ir_after,
                        [&](const std::string& s) { return s == "all" || s == name; });
  }
  // Hands printed IR to options.print, or writes it to stderr with MLIR's dump header.
  void print(const std::string& step, const std::string& ir) const {
    if (options.print) options.print(step, ir);
    else llvm::errs() << "// -----// IR Dump After " << step << " //----- //\n" << ir << "\n";
  }
};

// Runs a textual pass pipeline (no builtin.module wrapper) on the module. Individual passes can
// be printed after by their argument name.
mlir::LogicalResult run_passes(mlir::ModuleOp module, llvm::StringRef pipeline,
                               const PipelineContext& pc) {
  // PassManager(ctx) anchors on "any" and parsing "builtin.module(...)" nests a second module
  // level: both silently run nothing. Anchor on the module and give the bare list.
  auto pm = mlir::PassManager::on<mlir::ModuleOp>(module.getContext());
  std::string parse_errors;
  llvm::raw_string_ostream es(parse_errors);
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, es)))
    internal_fail("codegen pipeline '", pipeline.str(), "' does not parse: ", parse_errors);
  std::string printed;
  llvm::raw_string_ostream printed_os(printed);
  if (!pc.options.print_ir_after.empty())
    pm.enableIRPrinting([](mlir::Pass*, mlir::Operation*) { return false; },
                        [&pc](mlir::Pass* p, mlir::Operation*) {
                          return pc.print_after(p->getArgument()) &&
                                 !pc.print_after("all");  // "all" prints per stage
                        },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false,
                        /*printAfterOnlyOnFailure=*/false,
                        pc.options.print ? static_cast<llvm::raw_ostream&>(printed_os) : llvm::errs());
  mlir::LogicalResult result = pm.run(module);
  if (!printed.empty()) pc.options.print("mlir-passes", printed);
  return result;
}

bool is_body(const PipelineContext& pc, llvm::StringRef name) {
  return llvm::any_of(pc.kernels, [&](const KernelBinding& k) { return k.body == name; });
}

// One-shot bufferization of tensor bodies. drop-equivalent-buffer-results only rewrites private
// functions, so the bodies are private while it runs.
mlir::LogicalResult bufferize(mlir::ModuleOp module, const PipelineContext& pc) {
  std::vector<mlir::func::FuncOp> made_private;
  module.walk([&](mlir::func::FuncOp f) {
    if (is_body(pc, f.getSymName()) && f.isPublic()) {
      f.setPrivate();
      made_private.push_back(f);
    }
  });
  mlir::LogicalResult r = run_passes(
      module,
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "drop-equivalent-buffer-results",
      pc);
  for (mlir::func::FuncOp f : made_private) f.setPublic();
  return r;
}

// Applies the module's transform-dialect schedules (codegen/schedule.h), if it has any, then
// removes them so only payload is lowered.
mlir::LogicalResult apply_schedule(mlir::ModuleOp module, const PipelineContext& pc) {
  if (!make_schedule_entry(module)) return mlir::success();
  if (mlir::failed(run_passes(module, "transform-interpreter", pc))) return mlir::failure();
  for (mlir::Operation& op : llvm::make_early_inc_range(module.getBody()->getOperations()))
    if (op.getDialect() && op.getDialect()->getNamespace() == "transform") op.erase();
  module->removeAttr("transform.with_named_sequence");
  return run_passes(module, "canonicalize,cse", pc);
}

// MLIR's polynomial approximations whose f32 error stays within a few ulp over the whole range
// (measured in tests/codegen/mlir_to_object_test.cc: 1-4 ulp; log and log2 treat subnormal
// inputs as the smallest normal number). Left to libm: sin/cos (range
// reduction loses accuracy for large arguments), atan/atan2 (~70 ulp), the rest untested.
constexpr llvm::StringLiteral kAccurateApproximations[] = {
    "math.exp", "math.expm1", "math.log", "math.log2", "math.log1p", "math.tanh", "math.erf",
};

mlir::LogicalResult approximate_math(mlir::ModuleOp module, const PipelineContext& pc) {
  if (!pc.options.approximate_math) return mlir::success();
  mlir::RewritePatternSet patterns(module.getContext());
  auto accurate = [](llvm::StringRef name) {
    return llvm::is_contained(kAccurateApproximations, name);
  };
  mlir::populateMathF32ExpansionPatterns(patterns, accurate);
  mlir::populateMathPolynomialApproximationPatterns(patterns, accurate);
  return mlir::applyPatternsGreedily(module, std::move(patterns));
}

mlir::LogicalResult lower_to_llvm(mlir::ModuleOp module, const PipelineContext& pc) {
  return run_passes(module,
                    "canonicalize,cse,"
                    "buffer-deallocation-pipeline,"
                    "convert-linalg-to-loops,"
                    "convert-vector-to-scf{full-unroll=true},"
                    // Subviews with dynamic offsets expand into affine.apply: before lower-affine.
                    "expand-strided-metadata,"
                    "lower-affine,"
                    "convert-scf-to-cf,"
                    // What LLVM has no intrinsic for (acosh, asinh, atanh, ...) calls libm, one
                    // call per lane of a vector: before the vector and arith conversions, which
                    // lower the extracts, inserts and constants that unrolling makes.
                    "convert-math-to-llvm,"
                    "convert-math-to-libm,"
                    "convert-vector-to-llvm,"
                    "finalize-memref-to-llvm,"
                    "arith-expand,"
                    "convert-arith-to-llvm,"
                    "convert-index-to-llvm,"
                    "convert-func-to-llvm,"
                    "convert-cf-to-llvm,"
                    "convert-ub-to-llvm,"
                    "reconcile-unrealized-casts",
                    pc);
}

struct Stage {
  const char* name;
  mlir::LogicalResult (*run)(mlir::ModuleOp, const PipelineContext&);
};

// The CPU code generation pipeline, in order. LLVM IR stages follow in compile_to_object:
// "llvm-ir" (the ABI wrappers added) and "llvm-opt" (after O3).
constexpr Stage codegen_pipeline[] = {
    {"bufferize", bufferize},
    {"schedule", apply_schedule},
    {"approximate-math", approximate_math},
    {"to-llvm", lower_to_llvm},
};

// What a body looks like after bufferization: its memref operands, then maybe the tile range.
struct BodySignature {
  struct Operand {
    llvm::SmallVector<int64_t> shape;  // mlir::ShapedType::kDynamic for dynamic dims
  };
  std::vector<Operand> operands;
};

BodySignature capture_signature(mlir::ModuleOp module, const KernelBinding& k) {
  auto f = module.lookupSymbol<mlir::func::FuncOp>(k.body);
  EAVE_CHECK(f, "kernel '", k.symbol, "': no func.func named '", k.body, "' in the module");
  EAVE_CHECK(f.getNumResults() == 0, "kernel '", k.symbol, "': body '", k.body,
             "' still returns values after bufferization (results must be equivalent to "
             "arguments, destination-passing style)");
  mlir::FunctionType type = f.getFunctionType();
  size_t n_memrefs = type.getNumInputs() - (k.takes_tile_range ? 2 : 0);
  EAVE_CHECK(type.getNumInputs() >= (k.takes_tile_range ? 2u : 0u) &&
                 n_memrefs == k.operands.size(),
             "kernel '", k.symbol, "': body '", k.body, "' has ", type.getNumInputs(),
             " arguments, the binding describes ", k.operands.size(), " operands",
             k.takes_tile_range ? " and a tile range" : "");
  BodySignature sig;
  for (size_t i = 0; i < n_memrefs; ++i) {
    auto m = llvm::dyn_cast<mlir::MemRefType>(type.getInput(i));
    EAVE_CHECK(m && m.getLayout().isIdentity(), "kernel '", k.symbol, "': argument ", i,
               " of '", k.body, "' must be a memref with the identity layout");
    const KernelOperand& op = k.operands[i];
    for (int64_t d = 0; d < m.getRank(); ++d)
      EAVE_CHECK(!m.isDynamicDim(d) || (d < (int64_t)op.dim_syms.size() && op.dim_syms[d] >= 0),
                 "kernel '", k.symbol, "': operand ", i, " dimension ", d,
                 " is dynamic but the binding names no symbol for it");
    sig.operands.push_back({llvm::SmallVector<int64_t>(m.getShape())});
  }
  for (size_t i = n_memrefs; i < type.getNumInputs(); ++i)
    EAVE_CHECK(type.getInput(i).isIndex(), "kernel '", k.symbol, "': tile range argument ", i,
               " of '", k.body, "' must be index");
  return sig;
}

// void symbol(void* const* buffers, const int64_t* syms, int64_t tile_begin, int64_t tile_end):
// builds each memref descriptor the body takes (convert-func-to-llvm passes a memref as
// allocated ptr, aligned ptr, offset, sizes..., strides...) and calls the body.
void add_abi_wrapper(llvm::Module& m, const KernelBinding& k, const BodySignature& sig) {
  llvm::LLVMContext& ctx = m.getContext();
  llvm::Function* body = m.getFunction(k.body);
  EAVE_ASSERT(body && !body->isDeclaration());
  llvm::Type* ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  auto* type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, i64, i64}, false);
  EAVE_CHECK(!m.getFunction(k.symbol), "kernel symbol '", k.symbol, "' is defined twice");
  llvm::Function* w =
      llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage, k.symbol, m);
  w->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::Value* buffers = w->getArg(0);
  llvm::Value* syms = w->getArg(1);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", w));
  std::vector<llvm::Value*> args;
  for (size_t i = 0; i < sig.operands.size(); ++i) {
    const auto& shape = sig.operands[i].shape;
    const KernelOperand& op = k.operands[i];
    llvm::Value* data = b.CreateLoad(ptr, b.CreateConstInBoundsGEP1_64(ptr, buffers, op.buffer));
    std::vector<llvm::Value*> sizes;
    for (size_t d = 0; d < shape.size(); ++d)
      sizes.push_back(shape[d] != mlir::ShapedType::kDynamic
                          ? (llvm::Value*)b.getInt64(shape[d])
                          : b.CreateLoad(i64, b.CreateConstInBoundsGEP1_64(i64, syms, op.dim_syms[d])));
    std::vector<llvm::Value*> strides(shape.size());
    llvm::Value* stride = b.getInt64(1);
    for (size_t d = shape.size(); d-- > 0;) {
      strides[d] = stride;
      stride = b.CreateMul(stride, sizes[d]);
    }
    args.push_back(data);
    args.push_back(data);
    args.push_back(b.getInt64(0));
    args.insert(args.end(), sizes.begin(), sizes.end());
    args.insert(args.end(), strides.begin(), strides.end());
  }
  if (k.takes_tile_range) {
    args.push_back(w->getArg(2));
    args.push_back(w->getArg(3));
  }
  EAVE_ASSERT(args.size() == body->arg_size() && body->getReturnType()->isVoidTy());
  for (size_t i = 0; i < args.size(); ++i) EAVE_ASSERT(args[i]->getType() == body->getArg(i)->getType());
  b.CreateCall(body, args);
  b.CreateRetVoid();
  body->setLinkage(llvm::GlobalValue::InternalLinkage);
  body->addFnAttr(llvm::Attribute::AlwaysInline);
}

void print_llvm(const PipelineContext& pc, const char* stage, const llvm::Module& m) {
  if (!pc.print_after(stage)) return;
  std::string ir;
  llvm::raw_string_ostream os(ir);
  os << m;
  pc.print(stage, ir);
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

}  // namespace

const std::vector<std::string>& codegen_stage_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Stage& s : codegen_pipeline) v.push_back(s.name);
    v.push_back("llvm-ir");
    v.push_back("llvm-opt");
    return v;
  }();
  return names;
}

bool is_codegen_print_step(const std::string& step) {
  register_passes_once();
  return llvm::is_contained(codegen_stage_names(), step) || mlir::PassInfo::lookup(step);
}

namespace detail {

// Sets what every function of a module compiled for `tm` needs: the CPU and features (the
// backend and LLVM's cost models read them per function), no unwinding (kernels never throw,
// so no .eh_frame) and the RISC-V ABI flag.
void prepare_llvm_module(llvm::Module& m, llvm::TargetMachine& tm, const TargetSpec& target) {
  m.setTargetTriple(tm.getTargetTriple());
  m.setDataLayout(tm.createDataLayout());
  if (!target.abi.empty())
    m.addModuleFlag(llvm::Module::Error, "target-abi", llvm::MDString::get(m.getContext(), target.abi));
  for (llvm::Function& f : m) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", target.cpu);
    if (!target.features.empty()) f.addFnAttr("target-features", target.features);
    f.addFnAttr(llvm::Attribute::NoUnwind);
  }
}

Bytes emit_object(llvm::Module& m, llvm::TargetMachine& tm) {
  std::string errors;
  llvm::raw_string_ostream es(errors);
  if (llvm::verifyModule(m, &es)) internal_fail("generated LLVM IR does not verify: ", errors);
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
    fail("target '", tm.getTargetTriple().str(), "': LLVM cannot emit object files");
  pm.run(m);
  return Bytes(buffer.begin(), buffer.end());
}

}  // namespace detail

Bytes compile_to_object(mlir::ModuleOp module, const std::vector<KernelBinding>& kernels,
                        const TargetSpec& target, const CompileOptions& options) {
  target.arch();  // rejects unsupported triples before any work
  std::unique_ptr<llvm::TargetMachine> tm = detail::make_target_machine(target);
  PipelineContext pc{kernels, options};
  DiagnosticCollector diagnostics(module.getContext());
  std::vector<BodySignature> signatures;
  for (const Stage& stage : codegen_pipeline) {
    if (std::string_view(stage.name) == "to-llvm")
      for (const KernelBinding& k : kernels) signatures.push_back(capture_signature(module, k));
    if (mlir::failed(stage.run(module, pc)))
      fail("codegen stage '", stage.name, "' failed:\n", diagnostics.take());
    if (pc.print_after(stage.name)) {
      std::string ir;
      llvm::raw_string_ostream os(ir);
      module->print(os);
      pc.print(stage.name, ir);
    }
  }

  llvm::LLVMContext llvm_ctx;
  std::unique_ptr<llvm::Module> m = mlir::translateModuleToLLVMIR(module, llvm_ctx, "eave_kernels");
  if (!m) fail("translation to LLVM IR failed:\n", diagnostics.take());
  for (size_t i = 0; i < kernels.size(); ++i) add_abi_wrapper(*m, kernels[i], signatures[i]);
  detail::prepare_llvm_module(*m, *tm, target);
  print_llvm(pc, "llvm-ir", *m);
  optimize(*m, *tm);
  print_llvm(pc, "llvm-opt", *m);
  return detail::emit_object(*m, *tm);
}

Bytes compile_source_to_object(const std::string& source, const std::vector<KernelBinding>& kernels,
                               const TargetSpec& target, const CompileOptions& options) {
  std::unique_ptr<mlir::MLIRContext> ctx = make_codegen_context();
  DiagnosticCollector diagnostics(ctx.get());
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, ctx.get(), "kernel.mlir");
  if (!module) fail("MLIR source does not parse:\n", diagnostics.take());
  return compile_to_object(*module, kernels, target, options);
}

}  // namespace eave::codegen
