#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "compiler/compile.h"
#include "import/onnx_importer.h"
#include "ir/npy_io.h"
#include "reference/interpreter.h"
#include "tools/runtime_session.h"
#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"
#include "tools/conformance/conformance.h"

namespace eave {

namespace {

class ReferenceBackend : public ConformanceBackend {
 public:
  std::string name() const override { return "reference"; }
  std::vector<ValueData> run(const std::string&, const Model& model,
                             const std::vector<ValueData>& inputs) override {
    ref::NamedValues named;
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!inputs[i].is_none()) named.emplace_back(model.graph->inputs()[i]->name(), inputs[i]);
    return ref::run_model(model, named);
  }
};

// Compiles the model (static input shapes as declared) and runs it through the runtime: in
// process, or (for other targets) by a runner command such as
// "qemu-aarch64 -L /usr/aarch64-linux-gnu build/cross/aarch64/eave-run".
class CompiledBackend : public ConformanceBackend {
 public:
  CompiledBackend(bool kernels, std::string target, std::string cpu, std::string runner)
      : kernels_(kernels), target_(std::move(target)), cpu_(std::move(cpu)),
        runner_(std::move(runner)) {}
  std::string name() const override { return "compiled"; }
  std::vector<ValueData> run(const std::string& path, const Model&,
                             const std::vector<ValueData>& inputs) override {
    // Compile a fresh copy: the passes rewrite the model in place.
    auto model = import_onnx_file(path);
    CompileOptions o;
    o.generate_kernels = kernels_;
    o.target = target_;
    o.cpu = cpu_;
    CompiledModel c = compile_model(*model, o);
    if (!runner_.empty()) return run_with_runner(*model, c.artifact, inputs);
    auto rt = RuntimeModel::load_memory(std::move(c.artifact));
    RuntimeSession session(rt, 1);
    std::vector<std::pair<std::string, ValueData>> named;
    const Graph& g = *model->graph;
    for (size_t i = 0; i < inputs.size(); ++i) {
      // An empty optional is bound as such; an absent plain input is left out.
      if (inputs[i].is_none() && g.inputs()[i]->type().kind != TypeKind::Optional) continue;
      named.emplace_back(g.inputs()[i]->name(), inputs[i]);
    }
    return session.run_values(named);
  }

 private:
  std::vector<ValueData> run_with_runner(const Model& model, const std::vector<uint8_t>& artifact,
                                         const std::vector<ValueData>& inputs) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("eave_conf_" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
    write_file((dir / "model.eave").string(),
               {reinterpret_cast<const char*>(artifact.data()), artifact.size()});
    const Graph& g = *model.graph;
    std::string cmd = runner_ + " " + (dir / "model.eave").string();
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].is_none()) continue;
      EAVE_CHECK(inputs[i].is_tensor(), "runner backend: tensor inputs only");
      std::string f = (dir / ("in" + std::to_string(i) + ".npy")).string();
      write_npy(f, inputs[i].tensor);
      cmd += " --input '" + g.inputs()[i]->name() + "=" + f + "'";
    }
    cmd += " --output-dir " + (dir / "out").string() + " > " + (dir / "log").string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    std::string log = fs::exists(dir / "log") ? read_file((dir / "log").string()) : "";
    if (rc != 0) {
      fs::remove_all(dir);
      fail("runner failed: ", log);
    }
    std::vector<ValueData> out;
    for (const Value* v : g.outputs()) {
      std::string safe = v->name();
      for (char& ch : safe)
        if (ch == '/' || ch == '\\') ch = '_';
      Tensor t = read_npy((dir / "out" / (safe + ".npy")).string());
      // .npy has no bfloat16: the runner writes it as float32.
      if (v->dtype() == DType::BF16 && t.dtype() == DType::F32) t = t.cast(DType::BF16);
      out.emplace_back(std::move(t));
    }
    fs::remove_all(dir);
    return out;
  }

  bool kernels_;
  std::string target_, cpu_, runner_;
};

}  // namespace

int cmd_conformance(int argc, char** argv) {
  std::string suite = "node", backend = "reference", json, filter, data_dir;
  int64_t jobs = 0, min_pass = -1;
  bool verbose = false;
  ArgParser p("conformance",
              "Runs the ONNX backend test cases from Debian's libonnx-testdata through a backend\n"
              "and prints a per-op table and 'conformance: N passed, N failed, N skipped'.");
  p.option("--suite", &suite, "node, simple, pytorch-converted, pytorch-operator or all", "SUITE");
  p.option("--backend", &backend, "reference (default) or compiled", "NAME");
  bool no_kernels = false;
  p.flag("--no-kernels", &no_kernels, "compiled backend: run every op as a runtime builtin");
  std::string target = "host", cpu, runner;
  p.option("--target", &target, "compiled backend: host (default), x86_64, aarch64, riscv64", "T");
  p.option("--cpu", &cpu, "compiled backend: CPU for the target", "CPU");
  p.option("--runner", &runner,
           "compiled backend: run artifacts with this command (eave-run's flags), e.g. under "
           "qemu-user for another target", "CMD");
  p.option("--json", &json, "also write every case's result to FILE", "FILE");
  p.option("--filter", &filter, "only cases whose name matches REGEX", "REGEX");
  p.option("--jobs", &jobs, "cases run in parallel (default: number of CPUs)");
  p.option("--data-dir", &data_dir, "test data root (default /usr/share/libonnx-testdata/data)", "DIR");
  p.option("--min-pass", &min_pass, "exit 1 if fewer than N cases pass (the CI floor)");
  p.flag("--verbose", &verbose, "list every failed case with its message");
  p.example("eave conformance");
  p.example("eave conformance --suite all --json results.json");
  p.example("eave conformance --filter '^test_conv' --verbose");
  p.example("eave conformance --backend compiled --target aarch64 --runner "
            "'qemu-aarch64 -L /usr/aarch64-linux-gnu build/cross/aarch64/eave-run'");
  if (!p.parse(argc, argv, 2)) return 0;

  ConformanceOptions opts;
  if (suite == "all") opts.suites = conformance_suites();
  else opts.suites = {suite};
  if (!data_dir.empty()) opts.data_dir = data_dir;
  opts.filter = filter;
  opts.jobs = int(jobs);
  opts.progress = isatty(STDERR_FILENO);
  EAVE_CHECK(backend == "reference" || backend == "compiled", "unknown backend '", backend,
             "' (available: reference, compiled)");
  auto results = run_conformance(opts, [&]() -> std::unique_ptr<ConformanceBackend> {
    if (backend == "compiled")
      return std::make_unique<CompiledBackend>(!no_kernels, target, cpu, runner);
    return std::make_unique<ReferenceBackend>();
  });
  std::fputs(conformance_report(results, verbose).c_str(), stdout);
  if (!json.empty()) write_file(json, conformance_json(results, backend));
  if (min_pass >= 0) {
    int64_t passed = 0;
    for (const auto& r : results) passed += r.status == CaseStatus::Passed;
    if (passed < min_pass) {
      std::fprintf(stderr, "error: %lld cases passed, below the floor of %lld\n",
                   (long long)passed, (long long)min_pass);
      return 1;
    }
  }
  return 0;
}

}  // namespace eave
