#include <chrono>
#include <cstdio>
#include <filesystem>

#include "compiler/compile.h"
#include "import/onnx_importer.h"
#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"
#include "tools/compile_flags.h"
#include "tools/progress.h"

namespace eave {

int cmd_compile(int argc, char** argv) {
  std::string model_path, out_path;
  CompileFlags flags;
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
  add_compile_flags(p, flags);
  p.example("eave compile resnet18.onnx -o resnet18.eave");
  p.example("eave compile gpt.onnx --input-shape input_ids=batchxseq --dim-bound seq=1..512");
  p.example("eave compile model.onnx --target aarch64 --cpu neoverse-n1 -o model-arm.eave");
  p.example("eave compile model.onnx --print-ir-after=fold-batchnorm");
  p.example("eave compile model.onnx --emit static-lib -o build/model --target aarch64");
  if (!p.parse(argc, argv, 2)) return 0;
  CompileOptions o = compile_options_from_flags(flags);
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
  Progress progress;
  progress.update("import", 0, 0, model_path);
  o.progress = [&](const std::string& stage, size_t done, size_t total) {
    progress.update(stage, done, total);
  };
  auto model = import_onnx_file(model_path);
  CompiledModel c = compile_model(*model, o);
  progress.clear();
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
