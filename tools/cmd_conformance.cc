#include <unistd.h>

#include <cstdio>

#include "reference/interpreter.h"
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

}  // namespace

int cmd_conformance(int argc, char** argv) {
  std::string suite = "node", backend = "reference", json, filter, data_dir;
  int64_t jobs = 0, min_pass = -1;
  bool verbose = false;
  ArgParser p("conformance",
              "Runs the ONNX backend test cases from Debian's libonnx-testdata through a backend\n"
              "and prints a per-op table and 'conformance: N passed, N failed, N skipped'.");
  p.option("--suite", &suite, "node, simple, pytorch-converted, pytorch-operator or all", "SUITE");
  p.option("--backend", &backend, "reference (default)", "NAME");
  p.option("--json", &json, "also write every case's result to FILE", "FILE");
  p.option("--filter", &filter, "only cases whose name matches REGEX", "REGEX");
  p.option("--jobs", &jobs, "cases run in parallel (default: number of CPUs)");
  p.option("--data-dir", &data_dir, "test data root (default /usr/share/libonnx-testdata/data)", "DIR");
  p.option("--min-pass", &min_pass, "exit 1 if fewer than N cases pass (the CI floor)");
  p.flag("--verbose", &verbose, "list every failed case with its message");
  p.example("eave conformance");
  p.example("eave conformance --suite all --json results.json");
  p.example("eave conformance --filter '^test_conv' --verbose");
  if (!p.parse(argc, argv, 2)) return 0;

  ConformanceOptions opts;
  if (suite == "all") opts.suites = conformance_suites();
  else opts.suites = {suite};
  if (!data_dir.empty()) opts.data_dir = data_dir;
  opts.filter = filter;
  opts.jobs = int(jobs);
  opts.progress = isatty(STDERR_FILENO);
  EAVE_CHECK(backend == "reference", "unknown backend '", backend, "' (available: reference)");
  auto results = run_conformance(opts, [] { return std::make_unique<ReferenceBackend>(); });
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
