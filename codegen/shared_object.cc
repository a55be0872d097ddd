// The artifact's CODE shared object: the `eave_kernels` table object and the ld.lld link, with
// the check that generated code imports only what the runtime's import table provides.
#include <algorithm>
#include <fstream>
#include <set>

#include "runtime/src/artifact_format.h"
#include "codegen/llvm_support.h"
#include "codegen/mlir_to_object.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DerivedTypes.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Target/TargetMachine.h"
#include "support/error.h"

namespace eave::codegen {

Bytes emit_kernel_table_object(const std::vector<std::string>& symbols, const TargetSpec& target,
                                const std::string& table_symbol) {
  std::unique_ptr<llvm::TargetMachine> tm = detail::make_target_machine(target);
  llvm::LLVMContext ctx;
  llvm::Module m("eave_kernel_table", ctx);
  llvm::Type* ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type* i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  auto* fn_type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, ptr, i64, i64}, false);
  std::vector<llvm::Constant*> fns;
  for (const std::string& s : symbols) {
    auto* f = llvm::Function::Create(fn_type, llvm::GlobalValue::ExternalLinkage, s, m);
    f->setVisibility(llvm::GlobalValue::HiddenVisibility);  // resolved inside the link: RELATIVE
    fns.push_back(f);
  }
  auto* fns_type = llvm::ArrayType::get(ptr, fns.size());
  auto* table_type = llvm::StructType::get(ctx, {i32, i32, i32, i32, fns_type});
  auto* table = llvm::ConstantStruct::get(
      table_type, {llvm::ConstantInt::get(i32, EAVE_KERNEL_TABLE_MAGIC),
                   llvm::ConstantInt::get(i32, EAVE_KERNEL_ABI_VERSION),
                   llvm::ConstantInt::get(i32, symbols.size()), llvm::ConstantInt::get(i32, 0),
                   llvm::ConstantArray::get(fns_type, fns)});
  auto* g = new llvm::GlobalVariable(m, table_type, /*isConstant=*/true,
                                     llvm::GlobalValue::ExternalLinkage, table, table_symbol);
  g->setAlignment(llvm::Align(8));
  detail::prepare_llvm_module(m, *tm, target);
  return detail::emit_object(m, *tm);
}

Bytes emit_static_model_object(const std::string& symbol, const std::vector<uint8_t>& artifact,
                               const std::string& table_symbol, const TargetSpec& target) {
  std::unique_ptr<llvm::TargetMachine> tm = detail::make_target_machine(target);
  llvm::LLVMContext ctx;
  llvm::Module m("eave_static_model", ctx);
  llvm::Type* ptr = llvm::PointerType::get(ctx, 0);
  llvm::Type* i64 = llvm::Type::getInt64Ty(ctx);
  auto* data = llvm::ConstantDataArray::get(ctx, llvm::ArrayRef<uint8_t>(artifact));
  auto* bytes = new llvm::GlobalVariable(m, data->getType(), /*isConstant=*/true,
                                         llvm::GlobalValue::InternalLinkage, data,
                                         symbol + "_artifact");
  bytes->setAlignment(llvm::Align(64));
  auto* table = new llvm::GlobalVariable(m, llvm::Type::getInt8Ty(ctx), true,
                                         llvm::GlobalValue::ExternalLinkage, nullptr, table_symbol);
  // eave_static_model: {const void* artifact; size_t artifact_size; const void* kernel_table;}
  auto* type = llvm::StructType::get(ctx, {ptr, i64, ptr});
  auto* value = llvm::ConstantStruct::get(
      type, {bytes, llvm::ConstantInt::get(i64, artifact.size()), table});
  auto* g = new llvm::GlobalVariable(m, type, true, llvm::GlobalValue::ExternalLinkage, value, symbol);
  g->setAlignment(llvm::Align(8));
  detail::prepare_llvm_module(m, *tm, target);
  return detail::emit_object(m, *tm);
}


const std::vector<std::string>& default_allowed_imports() {
  // Keep in step with the runtime's import table (docs/design/runtime-artifact.md).
  static const std::vector<std::string> imports = [] {
    std::vector<std::string> v = {"memcpy", "memmove", "memset", "__extendhfsf2",
                                  "__truncsfhf2", "__truncdfhf2", "__truncsfbf2"};
    for (const char* f : {"exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "pow",
                          "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
                          "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "cbrt", "sqrt",
                          "fmod", "remainder", "floor", "ceil", "trunc", "round", "roundeven",
                          "rint", "nearbyint", "fma", "fmin", "fmax", "ldexp", "frexp"}) {
      v.push_back(f);
      v.push_back(std::string(f) + "f");
    }
    return v;
  }();
  return imports;
}

namespace {

constexpr const char* kLinker = "/usr/lib/llvm-22/bin/ld.lld";

// A scratch directory removed with everything in it when this goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::error_code ec = llvm::sys::fs::createUniqueDirectory("eave-link", path_);
    EAVE_CHECK(!ec, "cannot create a temporary directory: ", ec.message());
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path_); }
  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> p(path_);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }

 private:
  llvm::SmallString<256> path_;
};

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  EAVE_CHECK(f.good(), "cannot write '", path, "'");
}

Bytes read_file(const std::string& path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EAVE_CHECK(buffer, "cannot read '", path, "': ", buffer.getError().message());
  llvm::StringRef s = (*buffer)->getBuffer();
  return Bytes(s.begin(), s.end());
}

// The undefined dynamic symbols of a linked shared object: what the loader must resolve.
std::vector<std::string> imported_symbols(const Bytes& so) {
  llvm::MemoryBufferRef ref(
      llvm::StringRef(reinterpret_cast<const char*>(so.data()), so.size()), "code.so");
  auto obj = llvm::object::ObjectFile::createObjectFile(ref);
  if (!obj) internal_fail("ld.lld produced an unreadable object: ", llvm::toString(obj.takeError()));
  auto* elf = llvm::dyn_cast<llvm::object::ELFObjectFileBase>(obj->get());
  EAVE_ASSERT(elf);
  std::vector<std::string> imports;
  for (const llvm::object::SymbolRef& sym : elf->getDynamicSymbolIterators()) {
    llvm::Expected<uint32_t> flags = sym.getFlags();
    llvm::Expected<llvm::StringRef> name = sym.getName();
    if (!flags || !name) {
      llvm::consumeError(flags.takeError());
      llvm::consumeError(name.takeError());
      internal_fail("ld.lld produced an unreadable dynamic symbol table");
    }
    if ((*flags & llvm::object::SymbolRef::SF_Undefined) && !name->empty())
      imports.push_back(name->str());
  }
  return imports;
}

}  // namespace

Bytes link_shared_object(const std::vector<Bytes>& objects, const TargetSpec& target,
                         const std::vector<std::string>& allowed_imports) {
  EAVE_CHECK(!objects.empty(), "link_shared_object: no objects to link");
  TempDir dir;
  std::vector<std::string> args = {kLinker, "-shared", "-Bsymbolic", "--hash-style=sysv",
                                   "--gc-sections", "--build-id=none", "-z", "noexecstack",
                                   "-z", "now", "-o", dir.file("code.so")};
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string path = dir.file("k" + std::to_string(i) + ".o");
    write_file(path, objects[i]);
    args.push_back(path);
  }
  std::string log = dir.file("ld.log");
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string exec_error;
  int rc = llvm::sys::ExecuteAndWait(kLinker, argv, std::nullopt, redirects, 0, 0, &exec_error);
  if (rc != 0) {
    std::string output;
    if (llvm::sys::fs::exists(log)) {
      Bytes b = read_file(log);
      output.assign(b.begin(), b.end());
    }
    fail("linking kernels for ", target.triple, " with ", kLinker, " failed",
         exec_error.empty() ? "" : ": " + exec_error, output.empty() ? "" : ":\n" + output);
  }
  Bytes so = read_file(dir.file("code.so"));
  std::set<std::string> allowed(allowed_imports.begin(), allowed_imports.end());
  for (const std::string& s : imported_symbols(so))
    EAVE_CHECK(allowed.count(s), "generated code for ", target.triple, " imports '", s,
               "', which the runtime does not provide");
  return so;
}

Bytes link_relocatable(const std::vector<Bytes>& objects, const TargetSpec& target) {
  EAVE_CHECK(!objects.empty(), "link_relocatable: no objects to link");
  TempDir dir;
  std::vector<std::string> args = {kLinker, "-r", "--build-id=none", "-o", dir.file("model.o")};
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string path = dir.file("part" + std::to_string(i) + ".o");
    write_file(path, objects[i]);
    args.push_back(path);
  }
  std::string log = dir.file("ld.log");
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string exec_error;
  int rc = llvm::sys::ExecuteAndWait(kLinker, argv, std::nullopt, redirects, 0, 0, &exec_error);
  if (rc != 0) {
    Bytes b = llvm::sys::fs::exists(log) ? read_file(log) : Bytes{};
    fail("linking model.o for ", target.triple, " with ", kLinker, " failed",
         exec_error.empty() ? "" : ": " + exec_error, b.empty() ? "" : ":\n" + std::string(b.begin(), b.end()));
  }
  return read_file(dir.file("model.o"));
}

}  // namespace eave::codegen
