#include <chrono>
#include <cstdio>
#include <filesystem>

#include "compiler/compile.h"
#include "import/onnx_importer.h"
#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"

namespace eave {

namespace {

DimBounds parse_bound(const std::string& name, const std::string& spec) {
  // MAX, or MIN..MAX
  DimBounds b;
  auto to_int = [&](const std::string& s) {
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    EAVE_CHECK(!s.empty() && end && *end == 0 && v >= 0, "--dim-bound ", name,
               ": expected MAX or MIN..MAX, got '", spec, "'");
    return int64_t(v);
  };
  auto dots = spec.find("..");
  if (dots == std::string::npos) {
    b.max = to_int(spec);
  } else {
    b.min = to_int(spec.substr(0, dots));
    b.max = to_int(spec.substr(dots + 2));
  }
  EAVE_CHECK(b.min <= b.max, "--dim-bound ", name, ": min ", b.min, " is above max ", b.max);
  b.nominal = std::max<int64_t>(b.max, 1);
  return b;
}

}  // namespace

void add_compile_options(ArgParser& p, CompileOptions& o, std::vector<std::string>& shapes,
                         std::vector<std::string>& bounds, std::vector<std::string>& print_after,
                         bool& no_kernels) {
  p.option("--target", &o.target, "host (default), x86_64, aarch64 or riscv64", "T");
  p.option("--cpu", &o.cpu, "CPU for the target: x86-64-v3, znver4, neoverse-n1, ...", "CPU");
  p.repeated("--input-shape", &shapes,
             "fix or name an input's dims: x=1x3x224x224, ids=batchxseq (repeat per input)",
             "NAME=DIMS");
  p.repeated("--dim-bound", &bounds,
             "bound a named dim: batch=16 or seq=1..512 (arena planned for the max)",
             "NAME=MAX");
  p.repeated("--print-ir-after", &print_after,
             "print the IR after a pipeline step (or 'all'; 'partition' lists dispatches)", "STEP");
  p.flag("--no-kernels", &no_kernels, "generate no code: run every op as a runtime builtin");
}

void finish_compile_options(CompileOptions& o, const std::vector<std::string>& shapes,
                            const std::vector<std::string>& bounds,
                            const std::vector<std::string>& print_after, bool no_kernels) {
  for (const auto& s : shapes) {
    auto [name, dims] = split_assignment(s, "--input-shape");
    o.input_shapes[name] = dims;
  }
  for (const auto& s : bounds) {
    auto [name, spec] = split_assignment(s, "--dim-bound");
    o.dim_bounds[name] = parse_bound(name, spec);
  }
  for (const auto& s : print_after) o.pipeline.print_ir_after.insert(s);
  o.generate_kernels = !no_kernels;
}

int cmd_compile(int argc, char** argv) {
  std::string model_path, out_path;
  CompileOptions o;
  std::vector<std::string> shapes, bounds, print_after;
  bool no_kernels = false;
  ArgParser p("compile",
              "Compiles an ONNX model into one .eave artifact: native code for the target,\n"
              "weights, and the program the runtime executes.");
  p.positional("MODEL.onnx", &model_path, "the model to compile");
  p.option("-o", &out_path,
           "output: the artifact (default MODEL.eave); with --emit static-lib, a path prefix P "
           "for P.o and P.h (default: model)", "FILE");
  std::string emit = "artifact", symbol;
  p.option("--emit", &emit, "artifact (default) or static-lib (model.o + model.h for firmware)", "KIND");
  p.option("--symbol", &symbol, "static-lib: the C name of the model (default eave_model_<MODEL>)",
           "NAME");
  add_compile_options(p, o, shapes, bounds, print_after, no_kernels);
  p.example("eave compile resnet18.onnx -o resnet18.eave");
  p.example("eave compile gpt.onnx --input-shape input_ids=batchxseq --dim-bound seq=1..512");
  p.example("eave compile model.onnx --target aarch64 --cpu neoverse-n1 -o model-arm.eave");
  p.example("eave compile model.onnx --print-ir-after=fold-batchnorm");
  p.example("eave compile model.onnx --emit static-lib -o build/model --target aarch64");
  if (!p.parse(argc, argv, 2)) return 0;
  finish_compile_options(o, shapes, bounds, print_after, no_kernels);
  EAVE_CHECK(emit == "artifact" || emit == "static-lib", "--emit must be artifact or static-lib, got '",
             emit, "'");
  std::string stem = std::filesystem::path(model_path).stem().string();
  if (emit == "static-lib") {
    o.static_lib = true;
    if (symbol.empty()) {
      symbol = "eave_model_";
      for (char c : stem) symbol += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    for (char c : symbol)
      EAVE_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '_', "--symbol '", symbol,
                 "' is not a C identifier");
    o.symbol = symbol;
    if (out_path.empty()) out_path = "model";
  } else if (out_path.empty()) {
    out_path = (std::filesystem::path(model_path).parent_path() / (stem + ".eave")).string();
  }
  auto t0 = std::chrono::steady_clock::now();
  auto model = import_onnx_file(model_path);
  CompiledModel c = compile_model(*model, o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (o.static_lib) {
    write_file(out_path + ".o", {reinterpret_cast<const char*>(c.object.data()), c.object.size()});
    write_file(out_path + ".h", c.header);
    std::printf("wrote %s.o (%zu bytes) and %s.h: model '%s', %zu dispatches (%zu kernels, %zu "
                "builtins), %.2f s\n",
                out_path.c_str(), c.object.size(), out_path.c_str(), symbol.c_str(),
                c.dispatches.size(), c.kernel_count, c.builtin_count, s);
    return 0;
  }
  write_file(out_path, {reinterpret_cast<const char*>(c.artifact.data()), c.artifact.size()});
  std::printf("wrote %s: %zu bytes, %zu dispatches (%zu kernels, %zu builtins), %.2f s\n",
              out_path.c_str(), c.artifact.size(), c.dispatches.size(), c.kernel_count,
              c.builtin_count, s);
  return 0;
}

}  // namespace eave
