// `eave compare` and eave.compare(): the compiled model against a reference, value by value, to
// find the first place where they part.
//
// The model is compiled with its intermediate values exposed as extra outputs
// (CompileOptions::expose_intermediates) and run by the runtime:
//   dispatch granularity (default): every dispatch's outputs, with the usual fusion, so the
//     code checked is the code that normally runs; values inside a fused kernel stay hidden.
//   node granularity: every node output after the graph passes, with fusion off, to find the
//     op inside a fused kernel that goes wrong.
// The reference computes the same values from the original model: the reference interpreter
// (its on_node hook) or ONNX Runtime (the model with every node output made a graph output, run
// by tools/ort_run.js). Values are matched by name. A graph pass can change what a name holds
// (a BatchNorm folded into the Gemm before it leaves the Gemm's output name on the sum of both)
// or make values the original lacks (a recognized LayerNorm), so the reference interpreter
// also runs the optimized graph: such values are compared with that run instead, and their
// rows say so. The model's outputs are always compared with the original model's.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/compile.h"
#include "ir/tensor.h"
#include "tools/tolerance.h"

namespace eave {

struct CompareOptions {
  CompileOptions compile;  // expose_intermediates: Dispatches (default) or Nodes
  enum class Against { Reference, OnnxRuntime };
  Against against = Against::Reference;
  std::vector<std::pair<std::string, Tensor>> inputs;  // given inputs; the rest seeded random
  std::map<std::string, int64_t> dims;                 // dynamic dim sizes for random inputs
  uint32_t seed = 42;
  int threads = 1;
};

struct CompareRow {
  std::string value;  // the value's name
  std::string node;   // the dispatch (dispatch granularity) or node producing it
  std::string op;     // op type; "MatMul+Add+Relu" for a fused kernel
  std::string dtype;
  std::vector<int64_t> shape;
  bool compared = false;  // false: no reference value (note says why)
  bool within = true;     // within kCompareTolerance (always true when not compared)
  Agreement agreement;
  std::string note;
};

struct CompareReport {
  std::string against;      // "reference" or "onnxruntime"
  std::string granularity;  // "dispatch" or "node"
  std::vector<CompareRow> rows;
  int first_over = -1;  // index of the first row over the tolerance; -1 when none is
};

// The spellings `eave compare` and eave.compare() take: "dispatch" or "node"; "reference" or
// "onnxruntime". An Error names the choices otherwise.
CompileOptions::Expose granularity_from_name(const std::string& name);
CompareOptions::Against against_from_name(const std::string& name);

// Compiles and runs `onnx_bytes` (external data relative to `base_dir`) and compares. Errors:
// a bad model or input, or ONNX Runtime missing when asked for.
CompareReport compare_model(std::string_view onnx_bytes, const std::string& base_dir,
                            const CompareOptions& opts);

// The report as a table for a terminal (`color`: the first row over tolerance in bold red).
std::string compare_table(const CompareReport& r, bool color);
// The report as JSON: {"against", "granularity", "tolerance", "first_over", "rows": [...]}.
std::string compare_json(const CompareReport& r);

}  // namespace eave
