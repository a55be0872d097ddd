#include "tools/compare.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "import/onnx_importer.h"
#include "ir/npy_io.h"
#include "reference/interpreter.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/random_inputs.h"
#include "tools/runtime_session.h"

#ifndef EAVE_SOURCE_DIR
#define EAVE_SOURCE_DIR "."
#endif

namespace eave {

namespace {

namespace fs = std::filesystem;

using NamedTensors = std::unordered_map<std::string, Tensor>;

// A scratch directory removed when it goes out of scope.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "eave-compare-XXXXXX").string();
    EAVE_CHECK(mkdtemp(tmpl.data()), "cannot create a temporary directory in ",
               fs::temp_directory_path().string());
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Runs argv, returning its exit status (-1 if it could not start) and its stderr and stdout.
int run_process(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (pipe(fds) != 0) internal_fail("pipe failed");
  pid_t pid = fork();
  if (pid < 0) internal_fail("fork failed");
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) output.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The name ort_run.js and `eave run --output-dir` give a value's file.
std::string file_name(std::string name) {
  for (char& c : name)
    if (c == '/' || c == '\\') c = '_';
  return name + ".npy";
}

// Every node output of `model`, from the reference interpreter.
NamedTensors reference_values(const Model& model,
                              const std::vector<std::pair<std::string, Tensor>>& inputs) {
  NamedTensors out;
  ref::InterpreterOptions io;
  io.on_node = [&](const Node& n, std::span<const ValueData> values) {
    for (size_t i = 0; i < values.size() && i < n.num_outputs(); ++i)
      if (n.output(i) && values[i].is_tensor()) out[n.output(i)->name()] = values[i].tensor;
  };
  ref::NamedValues named;
  for (const auto& [n, t] : inputs) named.emplace_back(n, t);
  ref::run_model(model, named, io);
  return out;
}

// Every node output of the original model, from ONNX Runtime: the model with each node output
// made a graph output, run by tools/ort_run.js.
NamedTensors onnxruntime_values(std::string_view bytes, const std::string& base_dir,
                                const std::vector<std::pair<std::string, Tensor>>& inputs) {
  auto model = import_onnx_bytes(bytes, base_dir);
  Graph& g = *model->graph;
  std::unordered_set<const Value*> listed(g.outputs().begin(), g.outputs().end());
  for (const auto& n : g.nodes())
    for (Value* v : n->outputs())
      if (v && v->type().is_tensor() && listed.insert(v).second) g.add_output(v);
  TempDir dir;
  std::string model_path = (dir.path() / "model.onnx").string();
  write_file(model_path, export_onnx_bytes(*model));
  const char* node = std::getenv("EAVE_NODE");
  const char* script = std::getenv("EAVE_ORT_RUN");
  std::vector<std::string> argv = {node && *node ? node : "node",
                                   script && *script ? script : EAVE_SOURCE_DIR "/tools/ort_run.js",
                                   model_path};
  EAVE_CHECK(fs::exists(argv[1]), "ONNX Runtime's runner ", argv[1],
             " is missing (set EAVE_ORT_RUN to tools/ort_run.js of an eave checkout)");
  for (const auto& [n, t] : inputs) {
    std::string file = (dir.path() / ("in_" + file_name(n))).string();
    write_npy(file, t);
    argv.push_back("--input");
    argv.push_back(n + "=" + file);
  }
  fs::create_directories(dir.path() / "out");
  argv.push_back("--output-dir");
  argv.push_back((dir.path() / "out").string());
  std::string log;
  int status = run_process(argv, log);
  while (!log.empty() && std::isspace(static_cast<unsigned char>(log.back()))) log.pop_back();
  if (status == 127 || status == 3)
    fail("ONNX Runtime is not available (", argv[0], " ", argv[1],
         "): run scripts/fetch-models, or compare --against reference. ", log);
  EAVE_CHECK(status == 0, "ONNX Runtime failed on the model (exit ", status, "): ", log);
  NamedTensors out;
  for (const Value* v : g.outputs()) {
    fs::path f = dir.path() / "out" / file_name(v->name());
    if (fs::exists(f)) out[v->name()] = read_npy(f.string());
  }
  return out;
}

std::string op_of(const Dispatch& d) {
  std::string s;
  for (const Node* n : d.nodes) s += (s.empty() ? "" : "+") + n->op_type();
  return s;
}

bool same_tensor_type(const Tensor& a, const Tensor& b) {
  return a.dims() == b.dims() && a.dtype() == b.dtype();
}

bool agrees(const Tensor& got, const Tensor& want) {
  return same_tensor_type(got, want) &&
         within_compare_tolerance(agreement(got, want), !is_float(got.dtype()));
}

// Compares `got` with `want`, filling the row's figures.
void judge(CompareRow& row, const Tensor& got, const Tensor& want) {
  row.compared = true;
  if (!same_tensor_type(got, want)) {
    row.within = false;
    row.note = str_cat("the reference has ", dtype_name(want.dtype()), dims_str(want.dims()));
    row.agreement.max_abs = row.agreement.max_rel = INFINITY;
    row.agreement.cosine = 0;
    row.agreement.snr_db = -INFINITY;
    return;
  }
  row.agreement = agreement(got, want);
  row.within = within_compare_tolerance(row.agreement, !is_float(got.dtype()));
}

std::string number(double v, const char* fmt) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
      continue;
    }
    o += c;
  }
  return o + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

CompileOptions::Expose granularity_from_name(const std::string& name) {
  EAVE_CHECK(name == "dispatch" || name == "node", "--granularity must be dispatch or node, got '",
             name, "'");
  return name == "node" ? CompileOptions::Expose::Nodes : CompileOptions::Expose::Dispatches;
}

CompareOptions::Against against_from_name(const std::string& name) {
  EAVE_CHECK(name == "reference" || name == "onnxruntime",
             "--against must be reference or onnxruntime, got '", name, "'");
  return name == "reference" ? CompareOptions::Against::Reference
                             : CompareOptions::Against::OnnxRuntime;
}

CompareReport compare_model(std::string_view onnx_bytes, const std::string& base_dir,
                            const CompareOptions& opts) {
  CompileOptions co = opts.compile;
  if (co.expose_intermediates == CompileOptions::Expose::None)
    co.expose_intermediates = CompileOptions::Expose::Dispatches;
  CompareReport report;
  report.granularity =
      co.expose_intermediates == CompileOptions::Expose::Nodes ? "node" : "dispatch";
  report.against = opts.against == CompareOptions::Against::Reference ? "reference" : "onnxruntime";

  auto model = import_onnx_bytes(onnx_bytes, base_dir);
  size_t model_outputs = model->graph->outputs().size();
  CompiledModel compiled = compile_model(*model, co);
  auto runtime = RuntimeModel::load_memory(compiled.artifact);
  auto inputs = random_inputs(runtime->inputs(), opts.dims, opts.seed);
  replace_inputs(inputs, opts.inputs);
  RuntimeSession session(runtime, opts.threads);
  std::vector<Tensor> outs = session.run(inputs);
  auto infos = runtime->outputs();
  // The artifact's outputs: the model's own (under their declared names), then the exposed
  // values (under the values' names).
  std::unordered_map<const Value*, std::string> artifact_name;
  const auto& graph_outputs = model->graph->outputs();
  for (size_t i = 0; i < graph_outputs.size() && i < infos.size(); ++i)
    artifact_name.emplace(graph_outputs[i], infos[i].name);
  NamedTensors got;
  for (size_t i = 0; i < outs.size(); ++i) got[infos[i].name] = outs[i];

  // The truth: the original model's values. A graph pass may rewrite what a name holds (a
  // BatchNorm folded into the Gemm before it leaves the Gemm's output name on the sum of both),
  // so the reference also runs the optimized graph: a value whose reference there disagrees
  // with the original's under the same name, or that only the optimized graph has, is compared
  // with the optimized graph's reference, and the row says so. The model's outputs are always
  // compared with the original model's.
  auto original = import_onnx_bytes(onnx_bytes, base_dir);
  NamedTensors want = opts.against == CompareOptions::Against::Reference
                          ? reference_values(*original, inputs)
                          : onnxruntime_values(onnx_bytes, base_dir, inputs);
  NamedTensors optimized = reference_values(*model, inputs);

  std::unordered_set<const Value*> seen;
  auto add_row = [&](const Value* v, const std::string& node, const std::string& op) {
    auto an = artifact_name.find(v);
    std::string name = an == artifact_name.end() ? v->name() : an->second;
    auto it = got.find(name);
    if (it == got.end() || !seen.insert(v).second) return;
    const Tensor& g = it->second;
    CompareRow row;
    row.value = name;
    row.node = node;
    row.op = op;
    row.dtype = dtype_name(g.dtype());
    row.shape = g.dims();
    bool model_output = false;
    for (size_t i = 0; i < model_outputs && i < graph_outputs.size(); ++i)
      model_output |= graph_outputs[i] == v;
    auto w = want.find(name);
    auto o = optimized.find(v->name());
    if (w != want.end() && (model_output || o == optimized.end() || agrees(o->second, w->second))) {
      judge(row, g, w->second);
    } else if (o != optimized.end()) {
      judge(row, g, o->second);
      std::string why = w == want.end() ? "made by a graph pass" : "rewritten by a graph pass";
      row.note = why + ": against the optimized graph's reference" +
                 (row.note.empty() ? "" : "; " + row.note);
    } else {
      row.note = "no reference value";
    }
    report.rows.push_back(std::move(row));
  };
  auto label = [](const Node* n) { return n->name().empty() ? n->op_type() : n->name(); };
  if (co.expose_intermediates == CompileOptions::Expose::Nodes) {
    for (const auto& n : model->graph->nodes())
      for (const Value* v : n->outputs())
        if (v) add_row(v, label(n.get()), n->op_type());
  } else {
    for (const Dispatch& d : compiled.dispatches) {
      if (d.kind == DispatchKind::Alias) continue;
      for (const Value* v : d.outputs)
        if (v) add_row(v, d.name, op_of(d));
    }
  }
  // Model outputs no computing step produced (a view, a copy of an input).
  for (const Value* v : graph_outputs) {
    const Node* p = v->producer();
    add_row(v, p ? label(p) : v->is_constant() ? "(constant)" : "(input)", p ? p->op_type() : "");
  }
  for (size_t i = 0; i < report.rows.size(); ++i)
    if (!report.rows[i].within) {
      report.first_over = int(i);
      break;
    }
  return report;
}

std::string compare_table(const CompareReport& r, bool color) {
  size_t wn = 4, wo = 2, wv = 5, ws = 5;
  std::vector<std::string> shapes;
  for (const auto& row : r.rows) {
    shapes.push_back(row.dtype + dims_str(row.shape));
    wn = std::max(wn, std::min<size_t>(row.node.size(), 32));
    wo = std::max(wo, std::min<size_t>(row.op.size(), 28));
    wv = std::max(wv, std::min<size_t>(row.value.size(), 32));
    ws = std::max(ws, shapes.back().size());
  }
  auto cut = [](const std::string& s, size_t w) {
    return s.size() <= w ? s : s.substr(0, w - 3) + "...";
  };
  std::string out =
      str_cat("compiled model (", r.granularity, " granularity) against ",
              r.against == "reference" ? "the reference interpreter" : "ONNX Runtime", ": ",
              r.rows.size(), " values; tolerance max abs error <= ", kCompareTolerance.atol, " + ",
              kCompareTolerance.rtol, " * max|ref|\n");
  char line[512];
  std::snprintf(line, sizeof line, "   %4s  %-*s  %-*s  %-*s  %-*s  %11s  %9s  %10s  %8s\n", "#",
                int(wn), "node", int(wo), "op", int(wv), "value", int(ws), "shape", "max abs err",
                "rel err", "cosine", "SNR dB");
  out += line;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const CompareRow& row = r.rows[i];
    bool first = int(i) == r.first_over;
    const char* mark = first ? ">> " : !row.within ? " ! " : "   ";
    int n = std::snprintf(line, sizeof line, "%s%4zu  %-*s  %-*s  %-*s  %-*s  ", mark, i, int(wn),
                          cut(row.node, wn).c_str(), int(wo), cut(row.op, wo).c_str(), int(wv),
                          cut(row.value, wv).c_str(), int(ws), shapes[i].c_str());
    if (row.compared)
      std::snprintf(line + n, sizeof line - size_t(n), "%11s  %9s  %10s  %8s",
                    number(row.agreement.max_abs, "%.3g").c_str(),
                    number(row.agreement.max_rel, "%.3g").c_str(),
                    number(row.agreement.cosine, "%.7f").c_str(),
                    number(row.agreement.snr_db, "%.1f").c_str());
    else
      std::snprintf(line + n, sizeof line - size_t(n), "%s", row.note.c_str());
    std::string text = line;
    if (row.compared && !row.note.empty()) text += "  (" + row.note + ")";
    if (first) text += "  <- first over tolerance";
    if (first && color) text = "\033[1;31m" + text + "\033[0m";
    out += text + "\n";
  }
  if (r.first_over < 0) {
    out += "every compared value is within tolerance\n";
  } else {
    const CompareRow& row = r.rows[size_t(r.first_over)];
    out += str_cat("first value over tolerance: #", r.first_over, " '", row.value, "' from ",
                   row.node, " (", row.op, ")\n");
  }
  return out;
}

std::string compare_json(const CompareReport& r) {
  std::string o = str_cat(
      "{\n  \"against\": ", json_string(r.against),
      ",\n  \"granularity\": ", json_string(r.granularity),
      ",\n  \"tolerance\": {\"atol\": ", json_number(kCompareTolerance.atol),
      ", \"rtol\": ", json_number(kCompareTolerance.rtol), "},\n  \"first_over\": ",
      r.first_over < 0 ? std::string("null") : std::to_string(r.first_over), ",\n  \"rows\": [");
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const CompareRow& row = r.rows[i];
    std::string shape;
    for (int64_t d : row.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    o += str_cat(i ? "," : "", "\n    {\"index\": ", i, ", \"value\": ", json_string(row.value),
                 ", \"node\": ", json_string(row.node), ", \"op\": ", json_string(row.op),
                 ", \"dtype\": ", json_string(row.dtype), ", \"shape\": [", shape,
                 "], \"compared\": ", row.compared ? "true" : "false",
                 ", \"within_tolerance\": ", row.within ? "true" : "false");
    if (row.compared)
      o += str_cat(", \"max_abs_error\": ", json_number(row.agreement.max_abs),
                   ", \"rel_error\": ", json_number(row.agreement.max_rel),
                   ", \"cosine\": ", json_number(row.agreement.cosine),
                   ", \"snr_db\": ", json_number(row.agreement.snr_db));
    o += str_cat(", \"note\": ", json_string(row.note), "}");
  }
  return o + "\n  ]\n}\n";
}

}  // namespace eave
