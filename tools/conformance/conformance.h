// The ONNX backend test suite as a conformance suite that every eave backend must pass, run the
// same way for each: load model.onnx, feed input_*.pb, compare with output_*.pb under ONNX's
// tolerances. Each case runs in a child process, so a crash or a hang fails that case only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "ir/value_data.h"

namespace eave {

// Something that can run a model: the reference interpreter, or compile-and-run.
class ConformanceBackend {
 public:
  virtual ~ConformanceBackend() = default;
  virtual std::string name() const = 0;
  // Runs the model at `model_path` (already imported as `model`) on inputs in graph-input order.
  virtual std::vector<ValueData> run(const std::string& model_path, const Model& model,
                                     const std::vector<ValueData>& inputs) = 0;
};

enum class CaseStatus { Passed, Failed, Skipped };

struct CaseResult {
  std::string suite;
  std::string name;
  std::string op;  // the op the case is filed under in the per-op table
  CaseStatus status = CaseStatus::Failed;
  std::string message;
  double seconds = 0;
};

struct ConformanceOptions {
  std::vector<std::string> suites = {"node"};
  std::string data_dir = "/usr/share/libonnx-testdata/data";
  std::string filter;       // regex on case names; empty runs all
  int jobs = 0;             // parallel cases; 0 = number of CPUs
  double timeout_s = 120;   // per case
  bool progress = false;    // a live counter on stderr (for terminals)
};

// Every suite name `eave conformance --suite` accepts ("all" expands to these).
const std::vector<std::string>& conformance_suites();

std::vector<CaseResult> run_conformance(const ConformanceOptions& opts,
                                        const std::function<std::unique_ptr<ConformanceBackend>()>& make_backend);

// The per-op table and the final line "conformance: N passed, N failed, N skipped".
std::string conformance_report(const std::vector<CaseResult>& results, bool list_failures);
std::string conformance_json(const std::vector<CaseResult>& results, const std::string& backend);

}  // namespace eave
