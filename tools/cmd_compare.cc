// `eave compare MODEL.onnx`: the compiled model against the reference interpreter or ONNX
// Runtime, one row per intermediate value (tools/compare.h says how values are exposed).
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "ir/npy_io.h"
#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"
#include "tools/compare.h"
#include "tools/compile_flags.h"
#include "tools/progress.h"
#include "tools/random_inputs.h"

namespace eave {

int cmd_compare(int argc, char** argv) {
  std::string model_path, against = "reference", json, granularity = "dispatch";
  std::vector<std::string> inputs, dim_values;
  int64_t threads = 1, seed = 42;
  CompileFlags flags;
  ArgParser p("compare",
              "Compiles MODEL.onnx with its intermediate values exposed, runs it, and compares\n"
              "every value with the reference interpreter (or ONNX Runtime): a row per value\n"
              "with op, shape, max abs error, relative error, cosine similarity and SNR, the\n"
              "first value over tolerance marked. Without --input, inputs are seeded random.\n"
              "Exit code 1 when a value is over tolerance.");
  p.positional("MODEL.onnx", &model_path, "the model");
  p.repeated("--input", &inputs, "an input, as NAME=FILE.npy (others are seeded random)",
             "NAME=FILE");
  p.option("--against", &against, "reference (default) or onnxruntime", "PEER");
  p.option("--granularity", &granularity,
           "dispatch (default; a fused kernel is one row) or node (every node; fusion off)", "G");
  p.option("--json", &json, "also write the rows as JSON", "FILE");
  p.repeated("--dim", &dim_values, "a dynamic dim's size for random inputs: batch=8 (default 1)",
             "NAME=N");
  p.option("--seed", &seed, "seed of the random inputs (default 42)");
  p.option("--threads", &threads, "threads that run kernel tiles (default 1; 0: all CPUs)");
  add_compile_flags(p, flags);
  p.example("eave compare model.onnx");
  p.example("eave compare model.onnx --input x=x.npy --against onnxruntime --json rows.json");
  p.example("eave compare model.onnx --granularity node");
  if (!p.parse(argc, argv, 2)) return 0;

  CompareOptions opts;
  opts.compile = compile_options_from_flags(flags);
  opts.compile.expose_intermediates = granularity_from_name(granularity);
  opts.against = against_from_name(against);
  for (const auto& s : inputs) {
    auto [name, file] = split_assignment(s, "--input");
    opts.inputs.emplace_back(name, read_npy(file));
  }
  opts.dims = parse_dim_values(dim_values);
  opts.seed = uint32_t(seed);
  opts.threads = int(threads);
  Progress progress;
  opts.compile.progress = [&](const std::string& stage, size_t done, size_t total) {
    progress.update(stage, done, total);
  };
  std::string bytes = read_file(model_path);
  std::string base = std::filesystem::path(model_path).parent_path().string();
  progress.update("compare", 0, 0, "compiling");
  CompareReport r = compare_model(bytes, base, opts);
  progress.clear();
  std::fputs(compare_table(r, isatty(STDOUT_FILENO) != 0).c_str(), stdout);
  if (!json.empty()) write_file(json, compare_json(r));
  if (r.first_over >= 0) {
    const CompareRow& row = r.rows[size_t(r.first_over)];
    std::fflush(stdout);
    std::fprintf(stderr, "error: the compiled model departs from %s at value '%s' (%s, %s)\n",
                 r.against == "reference" ? "the reference interpreter" : "ONNX Runtime",
                 row.value.c_str(), row.node.c_str(), row.op.c_str());
    return 1;
  }
  return 0;
}

}  // namespace eave
