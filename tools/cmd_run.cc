#include <chrono>
#include <cstdio>
#include <filesystem>

#include "ir/npy_io.h"
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
  return 0;
}

}  // namespace eave
