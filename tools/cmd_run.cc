#include <chrono>
#include <cstdio>
#include <filesystem>

#include "import/onnx_importer.h"
#include "ir/npy_io.h"
#include "reference/interpreter.h"
#include "tools/tolerance.h"
#include "support/args.h"
#include "support/error.h"
#include "tools/commands.h"
#include "tools/runtime_session.h"
#include "tools/summary.h"

namespace eave {

int cmd_run(int argc, char** argv) {
  std::string model_path, out_dir;
  std::vector<std::string> inputs;
  int64_t threads = 1;
  ArgParser p("run", "Runs a compiled .eave artifact with the runtime and writes one .npy per output.");
  p.positional("MODEL.eave", &model_path, "the artifact to run");
  p.repeated("--input", &inputs, "an input, as NAME=FILE.npy (repeat for each input)", "NAME=FILE");
  p.option("--output-dir", &out_dir, "where to write OUTPUT_NAME.npy files", "DIR");
  p.option("--threads", &threads, "threads that run kernel tiles (default 1; 0: all CPUs)");
  std::string reference;
  p.option("--reference", &reference,
           "also run MODEL.onnx with the reference interpreter and report agreement", "MODEL.onnx");
  p.example("eave run model.eave --input x=x.npy --output-dir out/");
  if (!p.parse(argc, argv, 2)) return 0;

  auto model = RuntimeModel::load_file(model_path);
  std::vector<std::pair<std::string, Tensor>> named;
  for (const auto& s : inputs) {
    auto [name, file] = split_assignment(s, "--input");
    named.emplace_back(name, read_npy(file));
  }
  RuntimeSession session(model, int(threads));
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Tensor> outs = session.run(named);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto infos = model->outputs();
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
  for (size_t i = 0; i < outs.size(); ++i) {
    std::printf("%s: %s\n", infos[i].name.c_str(), summarize_tensor(outs[i]).c_str());
    if (!out_dir.empty()) {
      std::string safe = infos[i].name;
      for (char& c : safe)
        if (c == '/' || c == '\\') c = '_';
      write_npy((std::filesystem::path(out_dir) / (safe + ".npy")).string(), outs[i]);
    }
  }
  std::printf("run: %.3f ms\n", ms);
  if (!reference.empty()) {
    auto onnx = import_onnx_file(reference);
    ref::NamedValues rin;
    for (const auto& [n, t] : named) rin.emplace_back(n, t);
    std::vector<ValueData> want = ref::run_model(*onnx, rin);
    bool ok = true;
    for (size_t i = 0; i < outs.size() && i < want.size(); ++i) {
      if (!want[i].is_tensor()) continue;
      Agreement a = agreement(outs[i], want[i].tensor);
      std::printf("agreement with the reference interpreter, %s: max abs error %.3g, max rel error "
                  "%.3g, cosine %.7f\n",
                  infos[i].name.c_str(), a.max_abs, a.max_rel, a.cosine);
      ok &= a.cosine >= 0.9999 || a.max_abs <= 1e-5;
    }
    if (!ok) {
      std::fprintf(stderr, "error: the compiled model disagrees with the reference interpreter\n");
      return 1;
    }
  }
  return 0;
}

}  // namespace eave
