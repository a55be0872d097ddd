// `eave inspect MODEL.eave`: what an artifact holds, for any target: signature, target and
// features, the steps of each program, the memory plan and the sizes of code and weights.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "runtime/src/builtins/builtin.h"
#include "runtime/src/model.h"
#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"
#include "tools/runtime_session.h"

namespace eave {

namespace {

std::string dim_str(const eave_model* m, int64_t d) {
  if (!EAVE_DIM_IS_SYMBOL(d)) return std::to_string(d);
  return eave_model_string(m, m->symbols[EAVE_DIM_SYMBOL_INDEX(d)].name);
}

std::string value_type(const eave_model* m, uint32_t v) {
  const eave_value& val = m->values[v];
  const char* dt = eave_dtype_name(eave_dtype(val.dtype));
  switch (val.kind) {
    case EAVE_VALUE_SEQUENCE: return std::string("seq<") + dt + ">";
    case EAVE_VALUE_OPTIONAL_TENSOR: return std::string("opt<") + dt + ">";
    case EAVE_VALUE_OPTIONAL_SEQUENCE: return std::string("opt<seq<") + dt + ">>";
    default: break;
  }
  std::string s = std::string(dt) + "[";
  for (uint32_t a = 0; a < val.rank; ++a) s += (a ? "," : "") + dim_str(m, m->dims[val.dims + a]);
  return s + "]";
}

std::string bytes_str(uint64_t b) {
  char buf[64];
  if (b >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / (1 << 20));
  else if (b >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024);
  else std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
  return buf;
}

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  std::string path;
  bool json = false;
  ArgParser p("inspect",
              "Describes a .eave artifact (for any target): inputs and outputs with their dynamic\n"
              "dims, the target CPU and required features, the steps the runtime runs, the\n"
              "static memory plan (arena size and offsets) and the size of code and weights.");
  p.positional("MODEL.eave", &path, "the artifact");
  p.flag("--json", &json, "print the summary as JSON (signature, arena_bytes, weight_bytes, ...)");
  p.example("eave inspect resnet18.eave");
  if (!p.parse(argc, argv, 2)) return 0;
  auto file = MappedFile::open(path);
  eave_model* raw = nullptr;
  check_status(eave_model_inspect(file->data(), file->size(), &raw), "'" + path + "': ");
  std::unique_ptr<eave_model, void (*)(eave_model*)> m(raw, eave_model_release);

  uint64_t weight_bytes = 0, weights = 0;
  for (uint32_t v = 0; v < m->value_count; ++v)
    if (m->values[v].storage == EAVE_STORAGE_WEIGHT) {
      ++weights;
      weight_bytes += m->values[v].size;
    }
  uint32_t kernels = 0, builtins = 0;
  for (uint32_t s = 0; s < m->step_count; ++s) {
    kernels += m->steps[s].kind == EAVE_STEP_KERNEL;
    builtins += m->steps[s].kind == EAVE_STEP_BUILTIN;
  }
  const eave_program& main = m->programs[0];
  std::string arch = m->target.arch == EAVE_ARCH_X86_64    ? "x86_64"
                     : m->target.arch == EAVE_ARCH_AARCH64 ? "aarch64"
                                                           : "riscv64";
  std::vector<std::string> features;
  for (uint32_t i = 0; i < m->target.feature_count; ++i) {
    uint32_t ref;
    std::memcpy(&ref, m->target_features + 4 * i, 4);
    features.push_back(eave_model_string(m.get(), ref));
  }
  auto io = [&](uint32_t list, uint32_t count) {
    std::vector<std::pair<std::string, std::string>> out;
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t v = m->lists[list + i];
      out.emplace_back(eave_model_string(m.get(), m->values[v].name), value_type(m.get(), v));
    }
    return out;
  };
  auto inputs = io(main.inputs, main.input_count);
  auto outputs = io(main.outputs, main.output_count);

  if (json) {
    std::printf("{\n  \"bytes\": %zu,\n  \"target\": {\"arch\": \"%s\", \"triple\": %s, \"cpu\": %s, "
                "\"features\": [",
                file->size(), arch.c_str(), json_str(eave_model_string(m.get(), m->target.triple)).c_str(),
                json_str(eave_model_string(m.get(), m->target.cpu)).c_str());
    for (size_t i = 0; i < features.size(); ++i)
      std::printf("%s%s", i ? ", " : "", json_str(features[i]).c_str());
    std::printf("]},\n  \"inputs\": [");
    for (size_t i = 0; i < inputs.size(); ++i)
      std::printf("%s{\"name\": %s, \"type\": %s}", i ? ", " : "", json_str(inputs[i].first).c_str(),
                  json_str(inputs[i].second).c_str());
    std::printf("],\n  \"outputs\": [");
    for (size_t i = 0; i < outputs.size(); ++i)
      std::printf("%s{\"name\": %s, \"type\": %s}", i ? ", " : "", json_str(outputs[i].first).c_str(),
                  json_str(outputs[i].second).c_str());
    std::printf("],\n  \"steps\": %u,\n  \"kernel_steps\": %u,\n  \"builtin_steps\": %u,\n"
                "  \"arena_bytes\": %llu,\n  \"weights\": %llu,\n  \"weight_bytes\": %llu,\n"
                "  \"code_bytes\": %llu\n}\n",
                m->step_count, kernels, builtins, (unsigned long long)main.arena_size,
                (unsigned long long)weights, (unsigned long long)weight_bytes,
                (unsigned long long)m->code_section_size);
    return 0;
  }

  std::printf("%s: %s, format version %u\n", path.c_str(), bytes_str(file->size()).c_str(),
              EAVE_FORMAT_VERSION);
  std::printf("target: %s (%s), cpu %s", arch.c_str(), eave_model_string(m.get(), m->target.triple),
              eave_model_string(m.get(), m->target.cpu));
  if (!features.empty()) {
    std::printf(", requires");
    for (const auto& f : features) std::printf(" %s", f.c_str());
  }
  std::printf("\ninputs:\n");
  for (const auto& [n, t] : inputs) std::printf("  %s: %s\n", n.c_str(), t.c_str());
  std::printf("outputs:\n");
  for (const auto& [n, t] : outputs) std::printf("  %s: %s\n", n.c_str(), t.c_str());
  for (uint32_t s = 0; s < m->symbol_count; ++s) {
    const eave_symbol& sym = m->symbols[s];
    if (sym.kind != EAVE_SYMBOL_INPUT) continue;
    std::printf("dynamic dim %s: %lld..%s\n", eave_model_string(m.get(), sym.name),
                (long long)sym.min, sym.max < 0 ? "unbounded" : std::to_string(sym.max).c_str());
  }
  for (uint32_t pi = 0; pi < m->program_count; ++pi) {
    const eave_program& pr = m->programs[pi];
    std::printf("\nprogram %u '%s': %u steps, arena %s (planned for nominal shapes)\n", pi,
                eave_model_string(m.get(), pr.name), pr.step_count, bytes_str(pr.arena_size).c_str());
    for (uint32_t k = 0; k < pr.step_count; ++k) {
      const eave_step& st = m->steps[pr.first_step + k];
      std::string what;
      switch (st.kind) {
        case EAVE_STEP_KERNEL: what = "kernel " + std::to_string(st.id); break;
        case EAVE_STEP_BUILTIN: {
          const eave_builtin_desc* b = eave_builtin_find(st.id);
          what = std::string("builtin ") + (b ? b->name : "?");
          break;
        }
        case EAVE_STEP_IF: what = "if " + std::to_string(st.programs[0]) + " else " +
                                  std::to_string(st.programs[1]); break;
        case EAVE_STEP_LOOP: what = "loop " + std::to_string(st.programs[0]); break;
        case EAVE_STEP_SCAN: what = "scan " + std::to_string(st.programs[0]); break;
        case EAVE_STEP_SEQUENCE_MAP: what = "map " + std::to_string(st.programs[0]); break;
        default: what = "step"; break;
      }
      std::printf("  %3u %-18s %-28s ->", k, what.c_str(), eave_model_string(m.get(), st.name));
      for (uint32_t o = 0; o < st.output_count; ++o) {
        int32_t v = m->operands[st.operands + st.input_count + o];
        if (v >= 0)
          std::printf(" %s %s", eave_model_string(m.get(), m->values[v].name),
                      value_type(m.get(), uint32_t(v)).c_str());
      }
      std::printf("\n");
    }
    std::printf("  memory plan:\n");
    for (uint32_t v = 0; v < m->value_count; ++v) {
      const eave_value& val = m->values[v];
      if (val.program != pi || val.storage != EAVE_STORAGE_ARENA) continue;
      std::printf("    %-32s %-24s offset %10llu  %10s  steps %d..%d\n",
                  eave_model_string(m.get(), val.name), value_type(m.get(), v).c_str(),
                  (unsigned long long)val.offset, bytes_str(val.size).c_str(), val.first_step,
                  val.last_step);
    }
  }
  std::printf("\n%u steps (%u kernels, %u builtins); weights: %llu tensors, %s; code: %s\n",
              m->step_count, kernels, builtins, (unsigned long long)weights,
              bytes_str(weight_bytes).c_str(), bytes_str(m->code_section_size).c_str());
  return 0;
}

}  // namespace eave
