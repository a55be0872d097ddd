// `eave compile`: a model in, an artifact out. compile_model() runs the whole pipeline: input
// shape overrides, the graph passes (compiler/pipeline.cc), partition into dispatches, code
// generation for kernels, program emission, and the artifact writer.
#pragma once

#include <cstdint>
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
};

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
