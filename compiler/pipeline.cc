#include "compiler/pipeline.h"

#include <cstdio>

#include "import/onnx_shape_fallback.h"
#include "ir/printer.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "transforms/passes.h"

namespace eave {

namespace {

void infer_all_shapes(Model& m) {
  InferOptions io;
  io.fallback = onnx_infer_node;
  infer_shapes(*m.graph, io);
}

// Inlines the Ifs the compiled shapes decide. Each inlined branch can make more shapes known
// and so more conditions constant (exporters nest shape checks), so this repeats inference,
// folding and inlining until nothing changes.
void specialize_control_flow(Model& m) {
  for (int round = 0; round < 32 && inline_constant_if(m); ++round) {
    infer_all_shapes(m);
    fold_constants(m);
  }
}

// Folding can make a value constant that shape inference could not follow (an exporter's pad
// arithmetic: Slice with a negative step over the pads, then Cast); inferring again turns the
// dims that value decides into numbers, which can make more Shape ops constant. Repeats until
// nothing folds.
void fold_constants_and_refine_shapes(Model& m) {
  for (int round = 0; round < 16 && fold_constants(m) > 0; ++round) infer_all_shapes(m);
}

struct Step {
  const char* name;
  void (*run)(Model&);
};

// The graph passes in the order they run. Folding runs again after the rewrites that create
// new constants (folded BatchNorm weights, recognized-pattern parameters).
constexpr Step kGraphSteps[] = {
    {"infer-shapes", infer_all_shapes},
    {"fold-constants", fold_constants_and_refine_shapes},
    {"specialize-control-flow", specialize_control_flow},
    {"canonicalize", canonicalize},
    {"eliminate-common-subexpressions", eliminate_common_subexpressions},
    {"fold-batchnorm", fold_batchnorm},
    {"decompose-conv-transpose", decompose_conv_transpose},
    {"recognize-layernorm", recognize_layernorm},
    {"recognize-gelu", recognize_gelu},
    {"recognize-softmax", recognize_softmax},
    {"fold-constants-again", fold_constants_and_refine_shapes},
    {"eliminate-dead-code", eliminate_dead_code},
};

void after_step(const char* name, Model& m, const PipelineOptions& opts) {
  if (opts.verify_each) verify(m);
  if (opts.print_ir_after.count(name) || opts.print_ir_after.count("all")) {
    std::string ir = print_model(m);
    if (opts.print) {
      opts.print(name, ir);
    } else {
      std::printf("// ----- IR after %s\n%s", name, ir.c_str());
    }
  }
}

}  // namespace

const std::vector<std::string>& graph_pass_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& s : kGraphSteps) v.push_back(s.name);
    return v;
  }();
  return names;
}

void optimize_graph(Model& m, const PipelineOptions& opts) {
  for (const auto& step : kGraphSteps) {
    step.run(m);
    after_step(step.name, m, opts);
  }
}

}  // namespace eave
