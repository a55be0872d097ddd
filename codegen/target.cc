#include "codegen/target.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <span>

#include "codegen/llvm_support.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"
#include "support/error.h"

namespace eave::codegen {

namespace detail {

void initialize_llvm_targets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
  });
}

const llvm::Target& lookup_llvm_target(const TargetSpec& target) {
  initialize_llvm_targets();
  std::string error;
  const llvm::Target* t = llvm::TargetRegistry::lookupTarget(llvm::Triple(target.triple), error);
  EAVE_CHECK(t, "target triple '", target.triple, "': ", error);
  return *t;
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const TargetSpec& target) {
  const llvm::Target& t = lookup_llvm_target(target);
  llvm::TargetOptions options;
  options.FunctionSections = true;
  options.DataSections = true;
  options.MCOptions.ABIName = target.abi;
  std::unique_ptr<llvm::TargetMachine> tm(t.createTargetMachine(
      llvm::Triple(target.triple), target.cpu, target.features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  EAVE_CHECK(tm, "target '", target.describe(), "': LLVM cannot create a target machine");
  return tm;
}

}  // namespace detail

namespace {

// The features the runtime loader can check, per architecture, as LLVM names them paired with
// the artifact's name for them (the same except where the artifact uses the common name).
struct CheckableFeature {
  const char* llvm_name;
  const char* artifact_name;
};

constexpr CheckableFeature kX86Features[] = {
    {"sse3", "sse3"},           {"ssse3", "ssse3"},
    {"sse4.1", "sse4.1"},       {"sse4.2", "sse4.2"},
    {"popcnt", "popcnt"},       {"avx", "avx"},
    {"avx2", "avx2"},           {"fma", "fma"},
    {"f16c", "f16c"},           {"bmi", "bmi"},
    {"bmi2", "bmi2"},           {"lzcnt", "lzcnt"},
    {"movbe", "movbe"},         {"avx512f", "avx512f"},
    {"avx512cd", "avx512cd"},   {"avx512bw", "avx512bw"},
    {"avx512dq", "avx512dq"},   {"avx512vl", "avx512vl"},
    {"avx512vnni", "avx512vnni"}, {"avx512bf16", "avx512bf16"},
    {"avx512fp16", "avx512fp16"}, {"avx512vbmi", "avx512vbmi"},
    {"avx512vbmi2", "avx512vbmi2"}, {"avx512ifma", "avx512ifma"},
    {"avx512bitalg", "avx512bitalg"}, {"avx512vpopcntdq", "avx512vpopcntdq"},
    {"avxvnni", "avxvnni"},     {"gfni", "gfni"},
    {"vaes", "vaes"},           {"vpclmulqdq", "vpclmulqdq"},
};

constexpr CheckableFeature kAArch64Features[] = {
    {"fp-armv8", "fp-armv8"}, {"neon", "neon"}, {"fullfp16", "fullfp16"}, {"dotprod", "dotprod"},
    {"bf16", "bf16"},   {"i8mm", "i8mm"}, {"sve", "sve"},       {"sve2", "sve2"},
};

constexpr CheckableFeature kRiscV64Features[] = {
    {"m", "m"},     {"a", "a"},     {"f", "f"},     {"d", "d"},     {"c", "c"},
    {"v", "v"},     {"zba", "zba"}, {"zbb", "zbb"},
    {"zbs", "zbs"},
};

std::span<const CheckableFeature> checkable_features(Arch arch) {
  switch (arch) {
    case Arch::x86_64: return kX86Features;
    case Arch::aarch64: return kAArch64Features;
    case Arch::riscv64: return kRiscV64Features;
  }
  return {};
}

std::string linux_triple(std::string_view arch) { return str_cat(arch, "-unknown-linux-gnu"); }

// Resolves the spec through LLVM's subtarget tables; a CPU or feature name LLVM does not know
// is an error here instead of LLVM's "ignoring feature" warning on stderr.
std::unique_ptr<llvm::MCSubtargetInfo> make_subtarget(const TargetSpec& target) {
  const llvm::Target& t = detail::lookup_llvm_target(target);
  std::unique_ptr<llvm::MCSubtargetInfo> sti(
      t.createMCSubtargetInfo(llvm::Triple(target.triple), "", ""));
  EAVE_CHECK(sti, "target '", target.triple, "': no subtarget information");
  EAVE_CHECK(target.cpu.empty() || sti->isCPUStringValid(target.cpu), "target '",
             target.triple, "': unknown CPU '", target.cpu, "'");
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(target.features).split(parts, ',', -1, false);
  for (llvm::StringRef part : parts) {
    part = part.trim();
    EAVE_CHECK(part.size() > 1 && (part[0] == '+' || part[0] == '-'), "target '",
               target.triple, "': feature '", part.str(), "' must start with '+' or '-'");
    llvm::StringRef name = part.drop_front();
    bool known = llvm::any_of(sti->getAllProcessorFeatures(),
                              [&](const llvm::SubtargetFeatureKV& kv) { return name == kv.Key; });
    EAVE_CHECK(known, "target '", target.triple, "': unknown CPU feature '", name.str(), "'");
  }
  sti.reset(t.createMCSubtargetInfo(llvm::Triple(target.triple), target.cpu, target.features));
  return sti;
}

bool enabled(const llvm::MCSubtargetInfo& sti, const char* feature) {
  return sti.checkFeatures(str_cat("+", feature));
}

}  // namespace

Arch TargetSpec::arch() const {
  llvm::Triple t(triple);
  switch (t.getArch()) {
    case llvm::Triple::x86_64: return Arch::x86_64;
    case llvm::Triple::aarch64: return Arch::aarch64;
    case llvm::Triple::riscv64: return Arch::riscv64;
    default: fail("target triple '", triple, "': eave generates code for x86_64, aarch64 and riscv64 only");
  }
}

std::string TargetSpec::describe() const {
  std::string s = str_cat(triple, " cpu=", cpu.empty() ? "generic" : cpu);
  if (!features.empty()) s += str_cat(" features=", features);
  if (!abi.empty()) s += str_cat(" abi=", abi);
  return s;
}

TargetSpec host_target() {
  llvm::Triple process(llvm::sys::getProcessTriple());
  TargetSpec spec;
  spec.triple = linux_triple(process.getArchName());
  spec.cpu = llvm::sys::getHostCPUName().str();
  std::vector<std::string> features;
  for (const auto& kv : llvm::sys::getHostCPUFeatures())
    features.push_back(str_cat(kv.getValue() ? "+" : "-", kv.getKey().str()));
  std::sort(features.begin(), features.end());
  spec.features = llvm::join(features, ",");
  if (process.getArch() == llvm::Triple::riscv64) spec.abi = "lp64d";
  return spec;
}

TargetSpec preset_target(std::string_view arch, std::string_view cpu) {
  TargetSpec spec;
  if (arch == "host") {
    spec = host_target();
    if (!cpu.empty()) {
      spec.cpu = std::string(cpu);
      spec.features.clear();
    }
  } else if (arch == "x86_64" || arch == "x86-64") {
    spec.triple = linux_triple("x86_64");
    spec.cpu = cpu.empty() ? "x86-64-v3" : std::string(cpu);
  } else if (arch == "aarch64" || arch == "arm64") {
    spec.triple = linux_triple("aarch64");
    spec.cpu = cpu.empty() ? "generic" : std::string(cpu);
    spec.features = "+neon";
  } else if (arch == "riscv64") {
    spec.triple = linux_triple("riscv64");
    spec.cpu = cpu.empty() ? "generic-rv64" : std::string(cpu);
    spec.features = "+m,+a,+f,+d,+c,+v";
    spec.abi = "lp64d";
  } else {
    fail("unknown target '", arch, "': expected host, x86_64, aarch64 or riscv64");
  }
  make_subtarget(spec);  // validates the CPU name
  return spec;
}

TargetInfo resolve_target(const TargetSpec& target) {
  TargetInfo info;
  info.arch = target.arch();
  std::unique_ptr<llvm::MCSubtargetInfo> sti = make_subtarget(target);
  for (const CheckableFeature& f : checkable_features(info.arch))
    if (enabled(*sti, f.llvm_name)) info.features.push_back(f.artifact_name);
  switch (info.arch) {
    case Arch::x86_64:
      info.simd_bits = enabled(*sti, "avx512f") ? 512 : enabled(*sti, "avx") ? 256 : 128;
      info.vector_registers = enabled(*sti, "avx512f") ? 32 : 16;
      info.has_fma = enabled(*sti, "fma") || enabled(*sti, "avx512f");
      break;
    case Arch::aarch64:
      info.simd_bits = enabled(*sti, "neon") ? 128 : 0;
      info.vector_registers = 32;
      info.has_fma = info.simd_bits > 0;
      break;
    case Arch::riscv64:
      // Fixed-length vectors up to the guaranteed minimum VLEN (zvl*b, implied 128 by v).
      info.simd_bits = !enabled(*sti, "v")          ? 0
                       : enabled(*sti, "zvl512b") ? 512
                       : enabled(*sti, "zvl256b") ? 256
                                                  : 128;
      info.vector_registers = 32;
      info.has_fma = info.simd_bits > 0;
      break;
  }
  return info;
}

std::vector<std::string> required_features(const TargetSpec& target) {
  return resolve_target(target).features;
}

}  // namespace eave::codegen
