#include "compiler/compile.h"

#include <algorithm>
#include <cstdio>
#include <unordered_set>

#include "codegen/artifact_writer.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "import/onnx_shape_fallback.h"
#include "ir/shape_inference.h"
#include "support/error.h"

namespace eave {

namespace {

KernelGeneratorFactory& factory() {
  static KernelGeneratorFactory f;
  return f;
}

artifact::Arch to_arch(codegen::Arch a) {
  switch (a) {
    case codegen::Arch::x86_64: return artifact::Arch::X86_64;
    case codegen::Arch::aarch64: return artifact::Arch::AArch64;
    case codegen::Arch::riscv64: return artifact::Arch::RiscV64;
  }
  return artifact::Arch::X86_64;
}

Dim parse_dim(const std::string& tok, const std::string& input) {
  EAVE_CHECK(!tok.empty(), "--input-shape for '", input, "': empty dimension");
  if (std::isdigit(static_cast<unsigned char>(tok[0]))) {
    char* end = nullptr;
    long long v = std::strtoll(tok.c_str(), &end, 10);
    EAVE_CHECK(end && *end == 0 && v >= 0, "--input-shape for '", input, "': bad dimension '",
               tok, "'");
    return Dim(int64_t(v));
  }
  return Dim::symbol(tok);
}

}  // namespace

void set_kernel_generator_factory(KernelGeneratorFactory f) { factory() = std::move(f); }

void apply_input_shapes(Model& m, const std::map<std::string, std::string>& shapes) {
  if (shapes.empty()) return;
  Graph& g = *m.graph;
  for (const auto& [name, spec] : shapes) {
    Value* in = nullptr;
    for (Value* v : g.inputs())
      if (v->name() == name) in = v;
    if (!in) {
      std::string names;
      for (Value* v : g.inputs()) names += (names.empty() ? "" : ", ") + v->name();
      fail("--input-shape names '", name, "', which is not an input (inputs: ", names, ")");
    }
    // Dims separated by 'x' (1x3x224x224), or by ',' when a symbol name contains an 'x'
    // (max_len,3). An empty spec is a scalar.
    std::vector<Dim> dims;
    char sep = spec.find(',') != std::string::npos ? ',' : 'x';
    size_t start = 0;
    while (!spec.empty()) {
      size_t at = spec.find(sep, start);
      dims.push_back(parse_dim(spec.substr(start, at == std::string::npos ? at : at - start), name));
      if (at == std::string::npos) break;
      start = at + 1;
    }
    const Type& t = in->type();
    EAVE_CHECK(t.is_tensor(), "--input-shape: input '", name, "' is not a tensor");
    if (t.shape.has_rank())
      EAVE_CHECK(t.shape.rank() == dims.size(), "--input-shape for '", name, "' has ", dims.size(),
                 " dims, the model declares ", t.shape.str());
    if (t.shape.has_rank()) {
      for (size_t i = 0; i < dims.size(); ++i)
        if (t.shape[i].is_const() && dims[i].is_const())
          EAVE_CHECK(t.shape[i] == dims[i], "--input-shape for '", name, "': dimension ", i,
                     " is ", t.shape[i].value(), " in the model, not ", dims[i].value());
    }
    in->set_type(Type::tensor(t.dtype, Shape(std::move(dims))));
  }
  // Re-infer from scratch: drop what inference derived before.
  walk_graphs(g, [](Graph& sub) {
    for (const auto& n : sub.nodes())
      for (Value* v : n->outputs())
        if (v) {
          v->set_type(Type{});
          v->set_sym_data(std::nullopt);
        }
  });
  InferOptions io;
  io.fallback = onnx_infer_node;
  infer_shapes(g, io);
}

void check_precision(const std::string& precision) {
  EAVE_CHECK(precision == "fp32", "precision '", precision,
             "' is not supported yet: fp32 is the only precision today (quantized precisions "
             "come with the quantization work)");
}

void check_print_step(const std::string& step) {
  std::vector<std::string> steps = graph_pass_names();
  steps.push_back("partition");
  if (step == "all" || std::find(steps.begin(), steps.end(), step) != steps.end() ||
      codegen::is_codegen_print_step(step))
    return;
  for (const std::string& s : codegen::codegen_stage_names()) steps.push_back(s);
  std::string known;
  for (const std::string& s : steps) known += (known.empty() ? "" : ", ") + s;
  fail("--print-ir-after: no step named '", step, "'; the steps are ", known,
       ", a code generation pass by name (convert-scf-to-cf) or all");
}

namespace {

// Every tensor a node of the main graph produces becomes a graph output (Expose::Nodes).
void expose_node_outputs(Graph& g) {
  std::unordered_set<const Value*> listed(g.outputs().begin(), g.outputs().end());
  for (const auto& n : g.nodes())
    for (Value* v : n->outputs())
      if (v && v->type().is_tensor() && v->shape().has_rank() &&
          to_eave_dtype(v->dtype()) != EAVE_DTYPE_UNDEFINED && listed.insert(v).second)
        g.add_output(v);
}

}  // namespace

CompiledModel compile_model(Model& m, const CompileOptions& opts) {
  check_precision(opts.precision);
  auto progress = [&](const char* stage, size_t done, size_t total) {
    if (opts.progress) opts.progress(stage, done, total);
  };
  apply_input_shapes(m, opts.input_shapes);
  std::vector<std::string> output_names;
  for (const Value* v : m.graph->outputs()) output_names.push_back(v->name());
  progress("graph passes", 0, 1);
  optimize_graph(m, opts.pipeline);
  if (opts.expose_intermediates == CompileOptions::Expose::Nodes) expose_node_outputs(*m.graph);

  codegen::TargetSpec target = opts.target == "host" && opts.cpu.empty()
                                   ? codegen::host_target()
                                   : codegen::preset_target(opts.target, opts.cpu);
  std::unique_ptr<KernelGenerator> gen;
  if (opts.generate_kernels && factory()) gen = factory()(opts);
  KernelSupport none;
  none.generates = [](const Node&) { return false; };
  none.is_elementwise = [](const Node&) { return false; };
  CompiledModel out;
  out.dispatches = partition_graph(*m.graph, gen ? gen->support() : none);
  if (opts.pipeline.print_ir_after.count("partition") || opts.pipeline.print_ir_after.count("all")) {
    std::string text = print_dispatches(out.dispatches);
    if (opts.pipeline.print) opts.pipeline.print("partition", text);
    else std::printf("// ----- dispatches after partition\n%s", text.c_str());
  }
  for (const Dispatch& d : out.dispatches) {
    out.kernel_count += d.kind == DispatchKind::Kernel && gen;
    out.builtin_count += d.kind == DispatchKind::Builtin || (d.kind == DispatchKind::Kernel && !gen);
  }

  artifact::ArtifactWriter w;
  std::vector<std::string> features = gen ? gen->required_features() : std::vector<std::string>{};
  w.set_target({to_arch(target.arch()), target.triple, target.cpu, features});
  EmitOptions eo;
  eo.bounds = opts.dim_bounds;
  eo.output_names = std::move(output_names);
  eo.step_info = !opts.static_lib;
  eo.expose_dispatch_outputs = opts.expose_intermediates == CompileOptions::Expose::Dispatches;
  eo.on_dispatch = [&](size_t done) { progress("dispatches", done, out.dispatches.size()); };
  emit_program(*m.graph, out.dispatches, gen.get(), eo, w);
  progress("native code", 0, 1);
  if (!opts.static_lib) {
    if (gen) w.set_code(gen->finish());
    out.artifact = w.bytes();
    return out;
  }
  // Firmware: the program as a constant array next to the kernels, in one relocatable object.
  std::string table = opts.symbol + "_kernels";
  std::vector<std::vector<uint8_t>> objects;
  if (gen) objects = gen->finish_objects(table);
  else objects.push_back(codegen::emit_kernel_table_object({}, target, table));
  out.artifact = w.bytes();
  objects.push_back(codegen::emit_static_model_object(opts.symbol, out.artifact, table, target));
  out.object = codegen::link_relocatable(objects, target);
  out.header = artifact::ArtifactWriter::static_model_header(opts.symbol);
  return out;
}

}  // namespace eave
