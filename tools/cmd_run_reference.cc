#include <chrono>
#include <cstdio>
#include <filesystem>

#include "import/onnx_importer.h"
#include "ir/npy_io.h"
#include "reference/interpreter.h"
#include "support/args.h"
#include "support/error.h"
#include "tools/commands.h"
#include "tools/summary.h"

namespace eave {

int cmd_run_reference(int argc, char** argv) {
  std::string model_path, out_dir;
  std::vector<std::string> inputs;
  ArgParser p("run-reference",
              "Runs a model through the reference interpreter (slow, exact: the definition of\n"
              "every op) and writes one .npy file per output.");
  p.positional("MODEL.onnx", &model_path, "the model to run");
  p.repeated("--input", &inputs, "an input, as NAME=FILE.npy (repeat for each input)", "NAME=FILE");
  p.option("--output-dir", &out_dir, "where to write OUTPUT_NAME.npy files", "DIR");
  p.example("eave run-reference model.onnx --input x=x.npy --output-dir out/");
  if (!p.parse(argc, argv, 2)) return 0;

  auto model = import_onnx_file(model_path);
  ref::NamedValues named;
  for (const auto& s : inputs) {
    auto [name, file] = split_assignment(s, "--input");
    named.emplace_back(name, read_npy(file));
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<ValueData> outs = ref::run_model(*model, named);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
  const auto& gouts = model->graph->outputs();
  for (size_t i = 0; i < outs.size(); ++i) {
    const std::string& name = gouts[i]->name();
    if (!outs[i].is_tensor()) {
      std::printf("%s: (not a tensor; not written)\n", name.c_str());
      continue;
    }
    const Tensor& t = outs[i].tensor;
    std::printf("%s: %s\n", name.c_str(), summarize_tensor(t).c_str());
    if (!out_dir.empty()) {
      std::string safe = name;
      for (char& c : safe)
        if (c == '/' || c == '\\') c = '_';
      write_npy((std::filesystem::path(out_dir) / (safe + ".npy")).string(), t);
    }
  }
  std::printf("reference run: %.2f ms\n", ms);
  return 0;
}

}  // namespace eave
