// `eave compile`: a model in, an artifact out. compile_model() runs the whole pipeline: input
// shape overrides, the graph passes (compiler/pipeline.cc), partition into dispatches, code
// generation for kernels, program emission, and the artifact writer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "compiler/emit_program.h"
#include "compiler/kernel_generator.h"
#include "compiler/pipeline.h"
#include "ir/graph.h"

namespace eave {

struct CompileOptions {
  std::string target = "host";  // host, x86_64, aarch64, riscv64
  std::string cpu;              // a CPU name for the target (x86-64-v3, znver4, neoverse-n1, ...)
  // NAME -> dims: "1x3x224x224", "batchx3x224x224" (a name keeps the dim symbolic), or
  // comma-separated when a symbol contains an 'x': "max_len,3".
  std::map<std::string, std::string> input_shapes;
  std::map<std::string, DimBounds> dim_bounds;  // named dims' bounds and planning size
  PipelineOptions pipeline;
  bool generate_kernels = true;  // false: every op runs as a runtime builtin
  // Static library (model.o + model.h) instead of a .eave file; `symbol` names the model's
  // eave_static_model (and prefixes its kernels so several models link together).
  bool static_lib = false;
  std::string symbol = "eave_model";
  // Numeric precision of the generated code. Only "fp32" until the quantization work lands;
  // anything else is an Error that says so.
  std::string precision = "fp32";
  // For `eave compare`: intermediate values become extra model outputs (after the model's own).
  //   Dispatches: every dispatch's outputs, with the usual fusion; values inside a fused kernel
  //               stay hidden, and the code is the code that normally runs.
  //   Nodes:      every node output, made a graph output after the graph passes, so that no
  //               fusion hides one (and none happens).
  enum class Expose { None, Dispatches, Nodes };
  Expose expose_intermediates = Expose::None;
  // Progress of a long compile (for a terminal display): stage name, work done, work total.
  std::function<void(const std::string& stage, size_t done, size_t total)> progress;
};

// An Error unless `precision` is one the compiler supports (today only "fp32"); the message
// says what is supported. `eave compile --precision` and eave.compile(precision=) check early.
void check_precision(const std::string& precision);

// An Error unless `step` names something --print-ir-after can print after: a graph pass,
// "partition", a code generation stage or "all". The message lists them.
void check_print_step(const std::string& step);

// Something that makes the kernel generator for a target (lowering/ provides the MLIR one;
// tests may provide others). nullptr: no code generation.
using KernelGeneratorFactory =
    std::function<std::unique_ptr<KernelGenerator>(const CompileOptions&)>;
void set_kernel_generator_factory(KernelGeneratorFactory f);

struct CompiledModel {
  std::vector<uint8_t> artifact;  // the .eave file (static_lib: the program without CODE)
  std::vector<uint8_t> object;    // static_lib: model.o, kernels and program together
  std::string header;             // static_lib: model.h
  std::vector<Dispatch> dispatches;  // for reports (pointers into the model's graph)
  size_t kernel_count = 0;
  size_t builtin_count = 0;
};

// Compiles `m` in place (the graph passes rewrite it) into artifact bytes.
CompiledModel compile_model(Model& m, const CompileOptions& opts);

// Applies --input-shape overrides to the graph inputs and re-infers shapes.
void apply_input_shapes(Model& m, const std::map<std::string, std::string>& shapes);

}  // namespace eave
