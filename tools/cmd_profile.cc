// `eave profile MODEL.eave`: where a run's time goes, step by step (a step is a dispatch: a
// kernel, a builtin or a control-flow step). Timing comes from the runtime's profiling hook
// (eave_session_options.on_step); the model nodes and FLOPs of each step from the artifact's
// STEP_INFO section, which the compiler writes; bytes moved are the step's operand sizes this
// run, which the hook reports.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/args.h"
#include "support/error.h"
#include "support/mapped_file.h"
#include "tools/commands.h"
#include "tools/random_inputs.h"
#include "tools/runtime_session.h"
#include "tools/step_info.h"

namespace eave {

namespace {

using Clock = std::chrono::steady_clock;

struct Event {
  int32_t program, step, depth;
  std::string name, kind;
  int64_t begin_ns, end_ns;
  uint64_t bytes;
};

struct Recorder {
  bool on = false;
  Clock::time_point origin = Clock::now();
  std::vector<Event> events;  // completed steps, in END order
  std::vector<std::pair<int64_t, int64_t>> runs;
  std::vector<int64_t> open;  // BEGIN times of the steps running now, innermost last

  int64_t now() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - origin).count();
  }

  static void on_step(void* self, const eave_step_event* e) {
    auto* r = static_cast<Recorder*>(self);
    if (!r->on) return;
    if (e->phase == EAVE_STEP_BEGIN) {
      r->open.push_back(r->now());
      return;
    }
    int64_t end = r->now();
    std::string kind = e->kind;
    if (e->builtin) kind += std::string(" ") + e->builtin;
    r->events.push_back(
        {e->program, e->step, e->depth, e->name, kind, r->open.back(), end, e->bytes});
    r->open.pop_back();
  }
};

struct StepRow {
  int32_t program, step, depth;
  std::string name, kind, nodes;
  int64_t first_begin = 0;  // for execution order
  double total_ns = 0;
  uint64_t bytes = 0;
  std::optional<double> flops;
};

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o + "\"";
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string node_list(const StepInfo* info) {
  if (!info) return "";
  std::string s;
  for (const auto& [name, op] : info->nodes)
    s += (s.empty() ? "" : ", ") + (name.empty() ? op : name + " (" + op + ")");
  return s;
}

// Chrome trace event format (JSON object form), which Perfetto and chrome://tracing open.
std::string chrome_trace(const std::string& model, const Recorder& r,
                         const std::map<StepKey, StepInfo>& info,
                         const std::map<StepKey, std::optional<double>>& flops) {
  std::string o = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  o += str_cat(
      "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, \"args\": "
      "{\"name\": ",
      json_str("eave profile " + model), "}},\n");
  o += "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": 1, \"args\": {\"name\": "
       "\"session (calling thread)\"}}";
  auto us = [](int64_t ns) { return fixed(double(ns) / 1000.0, 3); };
  for (size_t i = 0; i < r.runs.size(); ++i)
    o += str_cat(",\n{\"name\": \"run ", i,
                 "\", \"cat\": \"run\", \"ph\": \"X\", \"pid\": 1, "
                 "\"tid\": 1, \"ts\": ",
                 us(r.runs[i].first), ", \"dur\": ", us(r.runs[i].second - r.runs[i].first), "}");
  for (const Event& e : r.events) {
    StepKey key{uint32_t(e.program), uint32_t(e.step)};
    auto it = info.find(key);
    std::string args =
        str_cat("\"program\": ", e.program, ", \"step\": ", e.step, ", \"bytes\": ", e.bytes);
    if (it != info.end()) args += ", \"nodes\": " + json_str(node_list(&it->second));
    if (auto f = flops.find(key); f != flops.end() && f->second)
      args += str_cat(", \"flops\": ", fixed(*f->second, 0));
    o += str_cat(",\n{\"name\": ", json_str(e.name), ", \"cat\": ", json_str(e.kind),
                 ", \"ph\": \"X\", \"pid\": 1, \"tid\": 1, \"ts\": ", us(e.begin_ns),
                 ", \"dur\": ", us(e.end_ns - e.begin_ns), ", \"args\": {", args, "}}");
  }
  return o + "\n]}\n";
}

}  // namespace

int cmd_profile(int argc, char** argv) {
  std::string path, trace, sort = "order", json;
  TimingFlags t;
  t.runs = 20;
  t.warmup = 3;
  ArgParser p("profile",
              "Runs a compiled model and reports the time of each step (a dispatch: a kernel,\n"
              "a builtin or a control-flow step) with the ONNX nodes it runs, its share of the\n"
              "run, achieved GFLOP/s and bytes moved (the step's operands). Times are means over\n"
              "the timed runs. --trace writes a Chrome trace that Perfetto (ui.perfetto.dev)\n"
              "and chrome://tracing open.");
  p.positional("MODEL.eave", &path, "the artifact");
  add_timing_flags(p, t);
  p.option("--trace", &trace, "write a Chrome trace JSON of the timed runs", "FILE");
  p.option("--sort", &sort, "order (default: execution order) or time (slowest first)", "KEY");
  p.option("--json", &json, "also write the table as JSON", "FILE");
  p.example("eave profile resnet18.eave --threads 2");
  p.example("eave profile model.eave --trace model.trace.json --sort time");
  if (!p.parse(argc, argv, 2)) return 0;
  EAVE_CHECK(sort == "order" || sort == "time", "--sort must be order or time, got '", sort, "'");

  check_timing_flags(t);
  auto model = RuntimeModel::load_file(path);
  auto file = MappedFile::open(path);
  std::map<StepKey, StepInfo> info = read_step_info({file->data(), file->size()});
  auto named = timing_inputs(*model, t);
  int64_t threads = t.threads, runs = t.runs, warmup = t.warmup;

  Recorder rec;
  eave_session_options o;
  eave_session_options_initialize(&o);
  o.threads = int32_t(threads);
  o.on_step = Recorder::on_step;
  o.on_step_user_data = &rec;
  RuntimeSession session(model, o);
  session.bind(named);
  for (int64_t i = 0; i < warmup; ++i) session.run_bound();
  rec.on = true;
  for (int64_t i = 0; i < runs; ++i) {
    int64_t t0 = rec.now();
    session.run_bound();
    rec.runs.push_back({t0, rec.now()});
  }
  rec.on = false;

  // One row per step, summed over the runs.
  std::map<StepKey, StepRow> by_step;
  for (const Event& e : rec.events) {
    StepKey key{uint32_t(e.program), uint32_t(e.step)};
    auto [it, fresh] = by_step.try_emplace(key);
    StepRow& row = it->second;
    if (fresh) {
      row = {e.program, e.step, e.depth, e.name, e.kind, "", e.begin_ns, 0, 0, std::nullopt};
      auto si = info.find(key);
      row.nodes = node_list(si == info.end() ? nullptr : &si->second);
      if (si != info.end()) row.flops = step_flops(si->second, session.get());
    }
    row.total_ns += double(e.end_ns - e.begin_ns);
    row.bytes = e.bytes;
  }
  std::vector<StepRow> rows;
  for (auto& [k, r] : by_step) rows.push_back(std::move(r));
  std::sort(rows.begin(), rows.end(), [&](const StepRow& a, const StepRow& b) {
    return sort == "time" ? a.total_ns > b.total_ns : a.first_begin < b.first_begin;
  });
  double run_ns = 0;
  for (const auto& [b, e] : rec.runs) run_ns += double(e - b);
  run_ns /= double(runs);
  double steps_ns = 0;
  for (const StepRow& r : rows)
    if (r.depth == 0) steps_ns += r.total_ns / double(runs);

  std::printf("%s: %lld runs, %lld thread%s, %.4f ms per run (steps %.4f ms)%s\n", path.c_str(),
              (long long)runs, (long long)threads, threads == 1 ? "" : "s", run_ns / 1e6,
              steps_ns / 1e6,
              info.empty() ? "; no STEP_INFO in the artifact (nodes and FLOPs "
                             "unknown: recompile with this eave)"
                           : "");
  std::printf("  %4s  %-28s %-14s %9s %6s %9s %10s %8s  %s\n", "#", "step", "kind", "ms", "%",
              "GFLOP/s", "bytes", "GB/s", "nodes");
  std::map<StepKey, std::optional<double>> flops;
  std::string json_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    const StepRow& r = rows[i];
    flops[{uint32_t(r.program), uint32_t(r.step)}] = r.flops;
    double ns = r.total_ns / double(runs);
    double pct = run_ns > 0 ? 100.0 * ns / run_ns : 0;
    std::string gflops = r.flops && *r.flops > 0 && ns > 0 ? fixed(*r.flops / ns, 2) : "-";
    std::string gbs = ns > 0 ? fixed(double(r.bytes) / ns, 2) : "-";
    std::string name = std::string(size_t(2 * r.depth), ' ') + r.name;
    if (name.size() > 28) name = name.substr(0, 25) + "...";
    std::printf("  %4zu  %-28s %-14s %9.4f %6.2f %9s %10llu %8s  %s\n", i, name.c_str(),
                r.kind.c_str(), ns / 1e6, pct, gflops.c_str(), (unsigned long long)r.bytes,
                gbs.c_str(), r.nodes.c_str());
    json_rows += str_cat(i ? ",\n" : "\n", "    {\"program\": ", r.program, ", \"step\": ", r.step,
                         ", \"depth\": ", r.depth, ", \"name\": ", json_str(r.name),
                         ", \"kind\": ", json_str(r.kind), ", \"nodes\": ", json_str(r.nodes),
                         ", \"ms\": ", fixed(ns / 1e6, 6), ", \"percent\": ", fixed(pct, 3),
                         ", \"flops\": ", r.flops ? fixed(*r.flops, 0) : "null",
                         ", \"bytes\": ", r.bytes, "}");
  }
  if (!json.empty())
    write_file(json, str_cat("{\n  \"model\": ", json_str(path), ",\n  \"runs\": ", runs,
                             ",\n  \"threads\": ", threads, ",\n  \"run_ms\": ",
                             fixed(run_ns / 1e6, 6), ",\n  \"steps\": [", json_rows, "\n  ]\n}\n"));
  if (!trace.empty()) {
    write_file(trace, chrome_trace(path, rec, info, flops));
    std::printf("wrote %s (open it in https://ui.perfetto.dev or chrome://tracing)\n",
                trace.c_str());
  }
  return 0;
}

}  // namespace eave
